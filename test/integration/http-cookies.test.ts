import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * An http server on loopback that serves each image only to a request that
 * carries its cookie (403 otherwise), with the HEAD and byte ranges QEMU's
 * curl driver asks for. It records the Cookie header of every request.
 */
function cookieServer(images: Record<string, { file: string; cookie: string }>): { server: http.Server; seen: Array<{ path: string; cookie: string }> } {
  const seen: Array<{ path: string; cookie: string }> = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const cookie = req.headers.cookie ?? '';
    seen.push({ path, cookie });
    const image = images[path];
    if (!image) return void res.writeHead(404).end();
    if (!cookie.split(/;\s*/).includes(image.cookie)) return void res.writeHead(403).end('forbidden');
    const data = readFileSync(image.file);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!range) {
      res.writeHead(200, { 'Content-Length': data.length, 'Accept-Ranges': 'bytes' });
      return void res.end(req.method === 'HEAD' ? undefined : data);
    }
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1);
    res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Accept-Ranges': 'bytes' });
    res.end(data.subarray(start, end + 1));
  });
  return { server, seen };
}

/**
 * http(s) disks with <cookies> on real QEMU (its curl driver): a read-only
 * qcow2 disk whose backing layer lives on the same server, each layer with
 * cookies of its own, handed to QEMU as secret objects (never on its command
 * line). A wrong cookie fails the start with the server's answer. The same
 * host runs without a lock manager, where a domain with a <lease> is refused.
 */
describe('http disks with cookies (QEMU curl driver), and <lease> without a lock manager', () => {
  const dir = tempDir('ferry-cookies-');
  const host = new FerrydHost({ dir: `${dir.path}/a`, config: `${dir.path}/ferryd.conf` });
  const { server, seen } = cookieServer({
    '/top.qcow2': { file: `${dir.path}/top.qcow2`, cookie: 'session=top-7f3a' },
    '/base.qcow2': { file: `${dir.path}/base.qcow2`, cookie: 'session=base-91c2' },
  });
  let port = 0;
  const httpDisk = (topCookie: string): string => `<disk type='network' device='disk'><driver name='qemu' type='qcow2'/>
    <source protocol='http' name='top.qcow2'><host name='127.0.0.1' port='${port}'/><cookies><cookie name='session'>${topCookie}</cookie><cookie name='lang'>en</cookie></cookies></source>
    <backingStore type='network'><format type='qcow2'/><source protocol='http' name='base.qcow2'><host name='127.0.0.1' port='${port}'/><cookies><cookie name='session'>base-91c2</cookie></cookies></source><backingStore/></backingStore>
    <target dev='vdb' bus='virtio'/><readonly/></disk>`;
  const define = async (name: string, xml: string): Promise<void> => {
    writeFileSync(`${dir.path}/${name}.xml`, xml);
    await host.ok('define', `${dir.path}/${name}.xml`);
  };

  before(async () => {
    writeFileSync(`${dir.path}/ferryd.conf`, 'lock_manager = "nop"\n');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${dir.path}/base.qcow2`, '8M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', `${dir.path}/base.qcow2`, `${dir.path}/top.qcow2`]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    await host.start();
  });
  after(async () => {
    await host.ferry('destroy', 'cookies'); // a failed assertion left it running
    await host.stopAll();
    server.close();
    dir.cleanup();
  });

  it('QEMU opens both layers with their own cookies, given as secret objects; dumpxml shows the values only with --security-info', async () => {
    await define('cookies', guestXml({ name: 'cookies', disks: httpDisk('top-7f3a') }));
    await host.ok('start', 'cookies');
    const uuid = (await host.ok('domuuid', 'cookies')).trim();
    const [pid] = qemuPidsOf(host.stateDir, uuid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    assert.match(argv, /"driver":"http","url":"http:\/\/127\.0\.0\.1:\d+\/base\.qcow2","cookie-secret":"file-vdb-b1-httpcookie-secret0"/);
    assert.match(argv, /"cookie-secret":"file-vdb-httpcookie-secret0"/);
    assert.doesNotMatch(argv, /top-7f3a|base-91c2/, "no cookie value on QEMU's command line");
    // Each layer was read with its own cookies (the header as QEMU's curl sends it).
    assert.ok(
      seen.some((r) => r.path === '/top.qcow2' && r.cookie === 'session=top-7f3a; lang=en'),
      JSON.stringify(seen.slice(0, 4)),
    );
    assert.ok(seen.some((r) => r.path === '/base.qcow2' && r.cookie === 'session=base-91c2'));
    const blocks = JSON.parse(
      await host.ok('qemu-monitor-command', 'cookies', JSON.stringify({ execute: 'query-named-block-nodes', arguments: { flat: true } })),
    ) as { return: Array<{ 'node-name': string; drv: string }> };
    const drivers = new Map(blocks.return.map((n) => [n['node-name'], n.drv]));
    assert.deepEqual(
      [drivers.get('file-vdb'), drivers.get('fmt-vdb'), drivers.get('file-vdb-b1'), drivers.get('fmt-vdb-b1')],
      ['http', 'qcow2', 'http', 'qcow2'],
      'both layers open in QEMU',
    );
    const plain = await host.ok('dumpxml', 'cookies');
    assert.doesNotMatch(plain, /<cookies>|top-7f3a|base-91c2/);
    const secure = await host.ok('dumpxml', '--security-info', 'cookies');
    assert.match(secure, /<cookie name='session'>top-7f3a<\/cookie>/);
    assert.match(secure, /<cookie name='session'>base-91c2<\/cookie>/);
    await host.ok('destroy', 'cookies');
  });

  it("a wrong cookie: the start fails with the server's 403 in the error", async () => {
    await define('badcookie', guestXml({ name: 'badcookie', disks: httpDisk('stale-0000') }));
    const r = await host.ferry('start', 'badcookie');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: Failed to start domain 'badcookie'/);
    assert.match(r.stderr, /403/, r.stderr);
    assert.match(await host.state('badcookie'), /^shut off/);
  });

  it('a <lease> on a host without a lock manager: start refused, coded, with a hint', async () => {
    await define(
      'leased',
      guestXml({ name: 'leased', devices: `<lease><lockspace>area</lockspace><key>fox</key><target path='${dir.path}/leases'/></lease>` }),
    );
    assert.match(await host.ok('dumpxml', 'leased'), /<lease>\s*<lockspace>area<\/lockspace>\s*<key>fox<\/key>\s*<target path='[^']+\/leases'\/>\s*<\/lease>/);
    const r = await host.ferry('start', 'leased');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /<lease> 'fox' needs a lock manager, and this host runs with lock_manager = "nop"/);
    assert.match(r.stderr, /\[LOCK_MANAGER_REQUIRED\]/);
    assert.match(r.stderr, /lock_manager = "lockd"/, 'the hint');
    assert.match(await host.state('leased'), /^shut off/);
  });
});
