import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { FerryError } from '../errors/ferry-error.js';
import { READONLY_HEADER } from '../shared/protocol.js';
import { stubApp } from '../../test/helpers/stub-app.js';
import { distinguishedName, dnAllowed, enforceAccess, type ListenerKind, normalisedPath } from './access.js';

function app(kind: ListenerKind) {
  const a = Fastify();
  a.setErrorHandler((err, _req, reply) => {
    const e = err as unknown as FerryError;
    void reply.status(e instanceof FerryError ? e.status : 500).send({ code: e.code, message: e.message });
  });
  enforceAccess(a, kind, { warn: () => undefined });
  a.get('/v1/domains', async () => ({ ok: true }));
  a.post('/v1/domains/:ref/start', async () => ({ ok: true }));
  a.post('/peer/v1/preflight', async () => ({ ok: true }));
  return a;
}

describe('access control', () => {
  it('the read-write socket may do everything; asking for read-only (-r) holds it to queries', async () => {
    const a = app('unix');
    assert.equal((await a.inject({ method: 'POST', url: '/v1/domains/web/start' })).statusCode, 200);
    assert.equal((await a.inject({ method: 'POST', url: '/peer/v1/preflight' })).statusCode, 200);
    const ro = await a.inject({ method: 'POST', url: '/v1/domains/web/start', headers: { [READONLY_HEADER]: '1' } });
    assert.equal(ro.statusCode, 403);
    assert.equal(ro.json().message, 'operation forbidden: read only access prevents virDomainCreate');
    assert.equal((await a.inject({ method: 'GET', url: '/v1/domains', headers: { [READONLY_HEADER]: '1' } })).statusCode, 200);
  });

  it('the read-only socket only queries, and never reaches the peer API', async () => {
    const a = app('unix-ro');
    assert.equal((await a.inject({ method: 'GET', url: '/v1/domains' })).statusCode, 200);
    assert.equal((await a.inject({ method: 'POST', url: '/v1/domains/web/start' })).statusCode, 403);
    const peer = await a.inject({ method: 'POST', url: '/peer/v1/preflight' });
    assert.equal(peer.statusCode, 403);
    assert.match(peer.json().message, /the peer API is for ferry hosts/);
  });

  it('writes certificate subjects as libvirt does and matches tls_allowed_dn_list globs', () => {
    const dn = distinguishedName({ CN: 'h1', O: 'ferry', OU: 'ferry-host', C: 'GB' });
    assert.equal(dn, 'C=GB,O=ferry,OU=ferry-host,CN=h1');
    assert.equal(dnAllowed(dn, []), true);
    assert.equal(dnAllowed(dn, ['C=GB,O=ferry,OU=ferry-host,CN=*']), true);
    assert.equal(dnAllowed(dn, ['*,CN=h?']), true);
    assert.equal(dnAllowed(dn, ['C=GB,O=ferry,OU=ferry-admin,CN=*']), false);
    assert.equal(dnAllowed('O=ferry.x,CN=a', ['O=ferry,CN=a']), false);
  });

  it('a refusal names the libvirt API of the route that matched, its :action included', async () => {
    const { app: a } = await stubApp({ kind: 'unix-ro' });
    const names = [
      ['POST', '/v1/domains/web/destroy', 'virDomainDestroy'],
      ['POST', '/v1/domains/web/start', 'virDomainCreate'],
      ['POST', '/v1/domains', 'virDomainDefineXML'],
      ['DELETE', '/v1/domains/web', 'virDomainUndefine'],
      ['POST', '/v1/domains/web/migrate', 'virDomainMigratePerform3Params'],
      ['POST', '/v1/domains/web/job/abort', 'virDomainAbortJob'],
      ['POST', '/v1/pools/p/start', 'POST /v1/pools/:pool/:action'],
      ['POST', '/v1/domains/create', 'virDomainCreateXML'],
    ];
    for (const [method, url, api] of names) {
      const res = await a.inject({ method: method as 'POST', url, payload: {} });
      assert.equal(res.json().error.message, `operation forbidden: read only access prevents ${api}`, url);
    }
    await a.close();
  });

  it('normalisedPath() reads a path as a decoding, normalising router would', () => {
    assert.equal(normalisedPath('/%70eer/v1/x'), '/peer/v1/x');
    assert.equal(normalisedPath('/%2570eer//v1/./a/../x?y=1'), '/peer/v1/x');
    assert.equal(normalisedPath('/v1/%2e%2e/PEER%2Fv1'), '/peer/v1');
    assert.equal(normalisedPath('/%E0%A4%A'), '/%e0%a4%a', 'undecodable input is kept');
  });

  it('every route, spelled any way, gets the same verdict as its plain path, for every kind of caller', async () => {
    const enc = (c: string): string => `%${c.charCodeAt(0).toString(16)}`;
    const spell = (p: string): string[] => {
      const [, first = '', ...rest] = p.split('/');
      return [
        p,
        `/${enc(first[0] ?? '')}${first.slice(1)}/${rest.join('/')}`,
        `/${first}//${rest.join('/')}`,
        `/%25${enc(first[0] ?? '').slice(1)}${first.slice(1)}/${rest.join('/')}`,
        `/${first.toUpperCase()}/${rest.join('/')}`,
        `/${first}%2F${rest.join('/')}`,
      ];
    };
    const callers: Array<{ kind: ListenerKind; headers: Record<string, string>; peer: boolean; readonly: boolean }> = [
      { kind: 'unix', headers: {}, peer: true, readonly: false },
      { kind: 'unix', headers: { [READONLY_HEADER]: '1' }, peer: false, readonly: true },
      { kind: 'unix-ro', headers: {}, peer: false, readonly: true },
      { kind: 'tcp', headers: {}, peer: true, readonly: false },
      { kind: 'tls', headers: {}, peer: false, readonly: false },
    ];
    const wrong: string[] = [];
    for (const c of callers) {
      const { app: a, routes } = await stubApp({ kind: c.kind });
      for (const r of routes) {
        const path = r.url.replace(/:action/, 'start').replace(/:(\w+)/g, 'x1');
        const denied = (r.url.startsWith('/peer/') && !c.peer) || (c.readonly && r.method !== 'GET');
        for (const p of spell(path)) {
          if (!denied && r.url === '/v1/events') continue; // an event stream stays open; no caller is refused it
          const res = await a.inject({ method: r.method as 'GET', url: p, headers: c.headers, ...(r.method === 'GET' ? {} : { payload: {} }) });
          const refused = res.statusCode === 403;
          // A denied route must be refused however it is spelled; an allowed one is refused by no spelling.
          if (denied !== refused && (denied || p === path || res.statusCode !== 404))
            wrong.push(`${c.kind}${c.readonly ? ' ro' : ''} ${r.method} ${p}: ${res.statusCode}`);
        }
      }
      await a.close();
    }
    assert.deepEqual(wrong, []);
  });
});
