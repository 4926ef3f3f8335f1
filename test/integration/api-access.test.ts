import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ClusterCa } from '../../src/transport/cluster-ca.js';
import { READONLY_HEADER } from '../../src/shared/protocol.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { type RawTarget, rawRequest } from '../helpers/raw-http.js';
import { type RegisteredRoute, stubApp } from '../helpers/stub-app.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/two-hosts.js';

const enc = (c: string): string => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** The ways a client can spell one path that a decoding, normalising router or proxy might read as the same. */
function spellings(path: string): string[] {
  const segs = path.split('/').slice(1);
  const [first = '', ...rest] = segs;
  const tail = rest.join('/');
  return [
    path,
    `/${enc(first[0] ?? '')}${first.slice(1)}/${tail}`,
    `/${segs.map((s) => [...s].map(enc).join('')).join('/')}`,
    `/${segs.map((s) => [...s].map(enc).join('').toUpperCase()).join('/')}`,
    `/%25${enc(first[0] ?? '').slice(1)}${first.slice(1)}/${tail}`,
    `/${first}%2F${tail}`,
    `/${first}%2f${tail}`,
    `/${first}%5C${tail}`,
    `//${first}/${tail}`,
    `/${first}//${tail}`,
    `/./${first}/${tail}`,
    `/v1/../${first}/${tail}`,
    `/v1/%2e%2e/${first}/${tail}`,
    `/${first.toUpperCase()}/${tail}`,
    `${path}/`,
    `${path}?x=1`,
  ];
}

/** A concrete path for a route pattern (:ref → a name). */
const concrete = (r: RegisteredRoute): string => r.url.replace(/:action/, 'start').replace(/:(\w+)/g, 'x1');

/**
 * Who may reach what, over ferryd's real sockets and TLS port, with paths
 * spelled every way a client can: the peer API is for host certificates and
 * the read-write socket only; read-only connections only query; secrets stay
 * out of dumpxml unless asked for on a read-write connection.
 */
describe('API access over the real listeners', () => {
  const dir = tempDir('ferry-access-');
  const ca = new ClusterCa(`${dir.path}/ca`);
  let host: FerrydHost;
  let port = 0;
  let routes: RegisteredRoute[] = [];
  const pki = { host: `${dir.path}/host`, admin: `${dir.path}/admin`, readonly: `${dir.path}/readonly` };
  const tls = (who: keyof typeof pki): RawTarget => ({ port, pki: pki[who] });
  const configFile = `${dir.path}/ferryd.conf`;

  before(async () => {
    await ca.create({ name: 'access test CA', days: 1 });
    await ca.issueHost({ hostname: 'localhost', addresses: ['127.0.0.1'], dnsNames: [], out: pki.host, days: 1 });
    await ca.issueClient({ name: 'alice', readonly: false, out: pki.admin, days: 1 });
    await ca.issueClient({ name: 'bob', readonly: true, out: pki.readonly, days: 1 });
    port = await freePort();
    writeFileSync(configFile, `tls_dir = "${pki.host}"\n`);
    host = new FerrydHost({ dir: `${dir.path}/h`, listen: `127.0.0.1:${port}`, config: configFile });
    await host.start();
    const app = await stubApp();
    routes = app.routes;
    await app.app.close();
  });

  after(async () => {
    await host?.stopAll();
    dir.cleanup();
  });

  it('the peer API, spelled any way, answers 403 to every connection that is not a host', async () => {
    const ro: RawTarget = { socketPath: host.socket.replace(/\.sock$/, '-ro.sock') };
    const rw: RawTarget = { socketPath: host.socket };
    const peerRoutes = routes.filter((r) => r.url.startsWith('/peer/'));
    assert.ok(peerRoutes.length >= 6, `${peerRoutes.length} peer routes`);
    const leaks: string[] = [];
    let probes = 0;
    for (const r of peerRoutes) {
      for (const path of spellings(concrete(r))) {
        for (const [who, target, headers] of [
          ['read-only socket', ro, {}],
          ['-r on the read-write socket', rw, { [READONLY_HEADER]: '1' }],
          ['operator certificate', tls('admin'), {}],
          ['read-only certificate', tls('readonly'), {}],
        ] as const) {
          const res = await rawRequest(target, { method: r.method, path, headers, ...(r.method === 'GET' ? {} : { body: {} }) });
          probes++;
          if (res.status !== 403 || res.code !== 'ACCESS_DENIED')
            leaks.push(`${who}: ${r.method} ${path} -> ${res.status ?? res.error} ${res.body.slice(0, 120)}`);
        }
      }
    }
    assert.deepEqual(leaks, []);
    assert.ok(probes > 300, `${probes} probes`);
  });

  it('a host certificate and the read-write socket do reach the peer API (the refusals above are about the caller)', async () => {
    for (const target of [tls('host'), { socketPath: host.socket }]) {
      for (const path of ['/peer/v1/migrations/nosuch', '/%70eer/v1/migrations/nosuch']) {
        const res = await rawRequest(target, { path });
        assert.equal(res.code, 'MIG_NOT_FOUND', `${path}: ${res.status} ${res.body}`);
      }
    }
  });

  it('read-only connections are refused everything but queries, on every route spelled any way', async () => {
    const ro: RawTarget = { socketPath: host.socket.replace(/\.sock$/, '-ro.sock') };
    const writes = routes.filter((r) => r.method !== 'GET' && !r.url.startsWith('/peer/'));
    assert.ok(writes.length >= 25);
    const leaks: string[] = [];
    for (const r of writes) {
      for (const path of spellings(concrete(r)).slice(0, 4)) {
        for (const [who, target] of [
          ['read-only socket', ro],
          ['read-only certificate', tls('readonly')],
        ] as const) {
          const res = await rawRequest(target, { method: r.method, path, body: {} });
          if (res.status !== 403 || res.code !== 'ACCESS_DENIED')
            leaks.push(`${who}: ${r.method} ${path} -> ${res.status ?? res.error} ${res.body.slice(0, 120)}`);
        }
      }
    }
    assert.deepEqual(leaks, []);
    const looks = await rawRequest(ro, { path: '/v1/domains?all=true' });
    assert.equal(looks.status, 200, 'a query still works on the read-only socket');
  });

  it('dumpxml leaves a graphics passwd out unless --security-info asks for it on a read-write connection', async () => {
    const xml = guestXml({ name: 'vnc' }).replace('<devices>', "<devices>\n    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret-pw'/>");
    writeFileSync(`${dir.path}/vnc.xml`, xml);
    await host.ok('define', `${dir.path}/vnc.xml`);
    const roUri = `ferry:///system?socket=${host.socket.replace(/\.sock$/, '-ro.sock')}`;
    const plain = await host.ok('dumpxml', 'vnc');
    assert.match(plain, /<graphics type='vnc' port='-1' autoport='yes'\/>/);
    assert.doesNotMatch(plain, /s3cret-pw/);
    assert.doesNotMatch(await host.ok('dumpxml', 'vnc', '--inactive'), /s3cret-pw/);
    assert.match(await host.ok('dumpxml', 'vnc', '--security-info'), /passwd='s3cret-pw'/);
    const ro = await host.ferry('-r', '-c', roUri, 'dumpxml', 'vnc');
    assert.equal(ro.code, 0, ro.stderr);
    assert.doesNotMatch(ro.stdout, /s3cret-pw/);
    const roSecure = await host.ferry('-r', '-c', roUri, 'dumpxml', 'vnc', '--security-info');
    assert.equal(roSecure.code, 1);
    assert.match(roSecure.stderr, /^error: operation forbidden: virDomainGetXMLDesc with secure flag\n/);
    assert.doesNotMatch(roSecure.stdout + roSecure.stderr, /s3cret-pw/);
    for (const [target, headers] of [
      [tls('readonly'), {}],
      [{ socketPath: host.socket }, { [READONLY_HEADER]: '1' }],
    ] as const) {
      const res = await rawRequest(target, { path: '/v1/domains/vnc/xml?secure=true', headers });
      assert.equal(res.status, 403);
      assert.doesNotMatch(res.body, /s3cret-pw/);
    }
    const admin = await rawRequest(tls('admin'), { path: '/v1/domains/vnc/xml?secure=true' });
    assert.match(admin.body, /s3cret-pw/, 'an operator certificate may ask for it');
  });

  it('the audit trail names a TLS caller by its certificate DN and its address; read-only certificates may not read it', async () => {
    const res = await rawRequest(tls('admin'), { method: 'DELETE', path: '/v1/domains/nosuch-audit' });
    assert.equal(res.code, 'DOMAIN_NOT_FOUND');
    const trail = await rawRequest(tls('admin'), { path: '/v1/audit?domain=nosuch-audit' });
    const [rec] = (JSON.parse(trail.body) as { records: Array<Record<string, unknown>> }).records;
    assert.equal(rec?.listener, 'tls');
    assert.match(String(rec?.dn), /OU=ferry-admin,CN=alice$/);
    assert.equal(rec?.uid, null);
    assert.match(String(rec?.origin), /^(::ffff:)?127\.0\.0\.1:\d+$/);
    assert.deepEqual([rec?.operation, rec?.outcome, rec?.errorCode], ['undefine', 'error', 'DOMAIN_NOT_FOUND']);
    const ro = await rawRequest(tls('readonly'), { path: '/v1/audit' });
    assert.equal(ro.code, 'ACCESS_DENIED');
  });

  it('an unknown option is refused naming it, before anything runs ({"options":{"Live":true}})', async () => {
    const res = await rawRequest(
      { socketPath: host.socket },
      { method: 'POST', path: '/v1/domains/vnc/migrate', body: { destUri: 'ferry+tcp://127.0.0.1:1/system', options: { Live: true } } },
    );
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error.message, "invalid request: unknown field 'options.Live' in the request body");
  });

  it('ferryd starts with the documented tls_allowed_dn_list and holds the TLS listener to it', async () => {
    writeFileSync(configFile, `tls_dir = "${pki.host}"\ntls_allowed_dn_list = [ "O=ferry,OU=ferry-host,CN=*" ]\n`);
    await host.restart();
    const hostCall = await rawRequest(tls('host'), { path: '/v1/domains?all=true' });
    assert.equal(hostCall.status, 200, hostCall.error ?? hostCall.body);
    const operator = await rawRequest(tls('admin'), { path: '/v1/domains?all=true' });
    assert.equal(operator.status, undefined, `an operator certificate is outside the list: no HTTP answer (${operator.error})`);
  });
});
