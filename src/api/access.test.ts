import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { FerryError } from '../errors/ferry-error.js';
import { READONLY_HEADER } from '../shared/protocol.js';
import { distinguishedName, dnAllowed, enforceAccess, type ListenerKind } from './access.js';

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
});
