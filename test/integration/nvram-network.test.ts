import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { canConnect } from '../../src/preflight/can-connect.js';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf, untilPasses } from '../helpers/processes.js';
import { freePort, TwoHosts } from '../helpers/two-hosts.js';
import type { FerrydHost } from '../helpers/ferryd.js';

const CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const TEMPLATE = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** The QEMU command line of the domain's process on a host. */
function qemuArgv(h: FerrydHost, uuid: string): string[] {
  const [pid] = qemuPidsOf(h.stateDir, uuid);
  assert.ok(pid, 'a QEMU runs for the domain');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

/** The pflash1 node as QEMU has it (query-named-block-nodes). */
async function pflash1(h: FerrydHost, name: string): Promise<{ drv: string; file: string; ro: boolean }> {
  const nodes = (
    JSON.parse(await h.ok('qemu-monitor-command', name, '{"execute":"query-named-block-nodes"}')) as {
      return: Array<{ 'node-name': string; drv: string; file: string; ro: boolean }>;
    }
  ).return;
  const node = nodes.find((n) => n['node-name'] === 'libvirt-pflash1-storage');
  assert.ok(node, `no pflash1 node: ${nodes.map((n) => n['node-name']).join(', ')}`);
  return node;
}

/**
 * <nvram type='network'> on real QEMU: a UEFI guest whose variable store is an NBD export (qemu-nbd on
 * loopback, a copy of OVMF's vars template). QEMU opens pflash1 on the nbd node; ferry creates no file
 * from a template, a live migration leaves the store where it is (the destination's QEMU opens the same
 * export; nothing is copied), and undefine --nvram does not touch it.
 */
describe("network NVRAM (<nvram type='network'>): QEMU's pflash1 on an NBD export, shared across a live migration", () => {
  const hosts = new TwoHosts();
  const name = 'nvramnbd';
  let nbd: ChildProcess | undefined;
  let exportFile = '';
  let port = 0;
  let uuid = '';

  before(async () => {
    await hosts.start();
    exportFile = `${hosts.dir.path}/vars-export.fd`;
    copyFileSync(TEMPLATE, exportFile);
    port = await freePort();
    // Several clients at once: during the migration both QEMUs have it open, as with any shared storage.
    nbd = spawn('qemu-nbd', ['-f', 'raw', '-x', 'vars', '-b', '127.0.0.1', '-p', String(port), '-e', '4', '-t', exportFile], { stdio: 'ignore' });
    await untilPasses('qemu-nbd listens', async () => assert.ok(await canConnect('127.0.0.1', port, 500)), 10_000, 100);
    const xml = guestXml({ name, bzImage: true, memoryMiB: 256, touchMiB: 8, hbMs: 500, type: 'qemu' }).replace(
      '</type>',
      `</type>\n    <loader readonly='yes' type='pflash' format='raw'>${CODE}</loader>\n    <nvram type='network' format='raw'><source protocol='nbd' name='vars'><host name='127.0.0.1' port='${port}'/></source></nvram>`,
    );
    writeFileSync(`${hosts.dir.path}/${name}.xml`, xml);
  });
  after(async () => {
    await hosts.stop();
    if (nbd && nbd.exitCode === null) {
      const gone = new Promise((resolve) => nbd?.once('exit', resolve));
      nbd.kill('SIGTERM');
      await gone;
    }
  });

  it('is defined as written (no template, no file path) and QEMU opens pflash1 on the nbd node', async () => {
    await hosts.a.ok('define', `${hosts.dir.path}/${name}.xml`);
    const defined = await hosts.a.ok('dumpxml', name);
    assert.ok(
      defined.includes(`<nvram type='network' format='raw'>\n      <source protocol='nbd' name='vars'>\n        <host name='127.0.0.1' port='${port}'/>`),
      defined,
    );
    assert.doesNotMatch(defined, /template=/);
    uuid = /<uuid>([^<]+)<\/uuid>/.exec(defined)?.[1] as string;

    await hosts.a.ok('start', name);
    const argv = qemuArgv(hosts.a, uuid);
    assert.ok(
      argv.includes(
        JSON.stringify({
          driver: 'nbd',
          server: { type: 'inet', host: '127.0.0.1', port: String(port) },
          export: 'vars',
          'node-name': 'libvirt-pflash1-storage',
          'read-only': false,
        }),
      ),
      argv.join(' '),
    );
    assert.ok(argv.some((a) => a.endsWith('pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-storage')));
    const node = await pflash1(hosts.a, name);
    assert.equal(node.drv, 'nbd');
    assert.equal(node.ro, false);
    assert.match(node.file, new RegExp(`nbd://127\\.0\\.0\\.1:${port}/vars`));
    // ferry made no store of its own from the template.
    assert.deepEqual(existsSync(`${hosts.a.stateDir}/nvram`) ? readdirSync(`${hosts.a.stateDir}/nvram`) : [], []);
  });

  it('a live migration keeps the same export: nothing is copied, the destination QEMU opens it', async () => {
    const inode = statSync(exportFile).ino;
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await hosts.b.state(name), /^running/);
    const node = await pflash1(hosts.b, name);
    assert.equal(node.drv, 'nbd');
    assert.match(node.file, new RegExp(`nbd://127\\.0\\.0\\.1:${port}/vars`));
    // The NVRAM section of the migration was skipped: no store on either host, the export is the same file.
    for (const h of [hosts.a, hosts.b]) assert.deepEqual(existsSync(`${h.stateDir}/nvram`) ? readdirSync(`${h.stateDir}/nvram`) : [], [], h.stateDir);
    assert.doesNotMatch(hosts.b.logTail(400), /NVRAM copied from the source|NVRAM on shared storage/);
    assert.equal(statSync(exportFile).ino, inode);
    assert.ok((await hosts.b.ok('dumpxml', '--inactive', name)).includes(`<source protocol='nbd' name='vars'>`));
  });

  it('undefine --nvram leaves shared storage alone, and says so', async () => {
    await hosts.b.ok('destroy', name);
    const u = await hosts.b.ferry('undefine', '--nvram', name);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, new RegExp(`NVRAM nbd://127\\.0\\.0\\.1:${port}/vars is on network storage: not removed`));
    assert.equal(statSync(exportFile).size, statSync(TEMPLATE).size);

    // The destination must reach the store: the pre-flight refuses a server it cannot connect to.
    const closed = await freePort();
    const gone = readFileSync(`${hosts.dir.path}/${name}.xml`, 'utf8')
      .replace(`<name>${name}</name>`, '<name>nvramgone</name>')
      .replace(`port='${port}'`, `port='${closed}'`);
    writeFileSync(`${hosts.dir.path}/gone.xml`, gone);
    await hosts.b.ok('define', `${hosts.dir.path}/gone.xml`);
    const m = await hosts.b.ferry('migrate', '--offline', '--persistent', 'nvramgone', hosts.aPeer);
    assert.notEqual(m.code, 0);
    assert.ok(m.stderr.includes(`nvram: nbd server 127.0.0.1:${closed} is not reachable`), m.stderr);
  });
});
