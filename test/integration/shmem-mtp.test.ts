import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const SERVER = fileURLToPath(new URL('../../../test/helpers/ivshmem-server.py', import.meta.url));

/**
 * <shmem> and usb-mtp on real QEMU, without a guest (SeaBIOS idles): QEMU maps
 * ivshmem-plain's /dev/shm/NAME at the defined size and gets a doorbell's
 * memory from an ivshmem server (a minimal one, test/helpers/ivshmem-server.py:
 * Debian ships none) on ferry's default socket; usb-mtp sits on its USB port.
 * A live migration is refused at pre-flight naming the <shmem> devices that
 * are not role='master' and the usb-mtp filesystem (QEMU's own blockers agree);
 * under TCG a master one too (QEMU 10.0 aborts the source migrating ivshmem
 * memory). Offline the definition moves. A doorbell without a server is
 * refused at start.
 */
describe('<shmem> (ivshmem-plain, ivshmem-doorbell) and usb-mtp on real QEMU', () => {
  const hosts = new TwoHosts();
  const tag = `ferry-it-${process.pid}`;
  const names = { master: `${tag}-m`, peer: `${tag}-p`, bell: `${tag}-d`, moving: `${tag}-mv` };
  const mtpDir = `${hosts.dir.path}/media`;
  let server: ChildProcess | undefined;

  const domain = (name: string, devices: string): string => `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory>
    <os><type arch='x86_64' machine='q35'>hvm</type></os><features><acpi/><apic/></features><devices>${devices}</devices></domain>`;
  const define = async (name: string, devices: string): Promise<void> => {
    writeFileSync(`${hosts.dir.path}/${name}.xml`, domain(name, devices));
    await hosts.a.ok('define', `${hosts.dir.path}/${name}.xml`);
  };
  const qmp = async (host: typeof hosts.a, name: string, command: object): Promise<unknown> =>
    (JSON.parse(await host.ok('qemu-monitor-command', name, JSON.stringify(command))) as { return: unknown }).return;
  /** BAR 2 (the shared memory) of each PCI device, by QEMU id. */
  const bar2 = async (host: typeof hosts.a, name: string): Promise<Map<string, number>> => {
    type Dev = { qdev_id: string; regions: Array<{ bar: number; size: number }>; pci_bridge?: { devices?: Dev[] } };
    const buses = (await qmp(host, name, { execute: 'query-pci' })) as Array<{ devices: Dev[] }>;
    const out = new Map<string, number>();
    const walk = (list: Dev[]): void =>
      list.forEach((d) => {
        const r = d.regions.find((x) => x.bar === 2);
        if (r) out.set(d.qdev_id, r.size);
        walk(d.pci_bridge?.devices ?? []);
      });
    buses.forEach((b) => walk(b.devices));
    return out;
  };

  before(async () => {
    await hosts.start();
    // A writable MTP store: QEMU's user must be able to write its root directory (usb-mtp checks at start).
    mkdirSync(mtpDir);
    chmodSync(mtpDir, 0o777);
    // The doorbell's server on ferry's default socket for its name (<server/> without a path): STATE_DIR/shmem-NAME-sock.
    const socket = `${hosts.a.stateDir}/shmem-${names.bell}-sock`;
    server = spawn('python3', [SERVER, socket, String(2 << 20), '2'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.once('data', () => resolve());
      server?.once('exit', (code) => reject(new Error(`ivshmem server exited (${code})`)));
    });
    await define(
      'shm',
      `
      <shmem name='${names.master}' role='master'><model type='ivshmem-plain'/><size unit='M'>2</size></shmem>
      <shmem name='${names.peer}' role='peer'><model type='ivshmem-plain'/></shmem>
      <shmem name='${names.bell}'><model type='ivshmem-doorbell'/><server/><msi vectors='2'/></shmem>
      <filesystem type='mount'><driver type='mtp'/><source dir='${mtpDir}'/><target dir='media'/></filesystem>`,
    );
    await hosts.a.ok('start', 'shm');
  });

  after(async () => {
    await hosts.stop();
    server?.stdin?.end();
    server?.kill();
    for (const n of Object.values(names)) rmSync(`/dev/shm/${n}`, { force: true });
  });

  it("QEMU runs ivshmem-plain on /dev/shm/NAME at its size (master on/off from role), the doorbell on the server's memory, usb-mtp on USB port 1", async () => {
    const uuid = (await hosts.a.ok('domuuid', 'shm')).trim();
    const [pid] = qemuPidsOf(hosts.a.stateDir, uuid);
    assert.ok(pid, 'a QEMU runs for the domain');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const dev = (prefix: string): string => argv.find((a) => a.startsWith(prefix)) ?? '';
    assert.equal(dev('memory-backend-file,id=shmmem-shmem0'), `memory-backend-file,id=shmmem-shmem0,mem-path=/dev/shm/${names.master},size=2097152,share=on`);
    assert.match(dev('ivshmem-plain,id=shmem0'), /^ivshmem-plain,id=shmem0,memdev=shmmem-shmem0,master=on,bus=pci\.\d+,addr=0x/);
    assert.match(dev('ivshmem-plain,id=shmem1'), /^ivshmem-plain,id=shmem1,memdev=shmmem-shmem1,master=off,bus=pci\.\d+,addr=0x/);
    assert.match(dev('ivshmem-doorbell'), /^ivshmem-doorbell,id=shmem2,chardev=charshmem2,vectors=2,ioeventfd=on,bus=pci\.\d+,addr=0x/);
    assert.equal(dev('socket,id=charshmem2'), `socket,id=charshmem2,path=${hosts.a.stateDir}/shmem-${names.bell}-sock`);
    assert.equal(dev('usb-mtp'), `usb-mtp,id=fs0,rootdir=${mtpDir},desc=media,readonly=off,bus=usb.0,port=1`);
    // The host side: the shared memory files, at the defined size (libvirt's 4 MiB when none is given).
    assert.equal(statSync(`/dev/shm/${names.master}`).size, 2 << 20);
    assert.equal(statSync(`/dev/shm/${names.peer}`).size, 4 << 20);
    // QEMU's view: each device's BAR 2 is its shared memory (the doorbell's is the server's 2 MiB memfd).
    const bars = await bar2(hosts.a, 'shm');
    assert.equal(bars.get('shmem0'), 2 << 20);
    assert.equal(bars.get('shmem1'), 4 << 20);
    assert.equal(bars.get('shmem2'), 2 << 20);
    const usb = await qmp(hosts.a, 'shm', { execute: 'qom-get', arguments: { path: '/machine/peripheral/fs0', property: 'rootdir' } });
    assert.equal(usb, mtpDir);
    // The live XML shows the server's socket ferry chose; the inactive one keeps <server/> as written.
    assert.match(await hosts.a.ok('dumpxml', 'shm'), new RegExp(`<server path='${hosts.a.stateDir}/shmem-${names.bell}-sock'/>`));
    assert.match(await hosts.a.ok('dumpxml', '--inactive', 'shm'), /<server\/>/);
  });

  it('a live migration is refused at pre-flight, naming every shmem and the usb-mtp filesystem; QEMU blocks the peer and usb-mtp too', async () => {
    const blocked = ((await qmp(hosts.a, 'shm', { execute: 'query-migrate' })) as { 'blocked-reasons'?: string[] })['blocked-reasons'] ?? [];
    assert.ok(
      blocked.some((r) => /usb-mtp/.test(r)),
      `QEMU's blockers: ${blocked.join('; ')}`,
    );
    assert.ok(
      blocked.some((r) => /ivshmem|peer/i.test(r)),
      `QEMU's blockers: ${blocked.join('; ')}`,
    );
    const r = await hosts.a.ferry('migrate', '--live', 'shm', hosts.bPeer);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /\[MIG_PREFLIGHT_FAILED\]/);
    const out = r.stdout + r.stderr;
    assert.match(out, new RegExp(`shmem device '${names.peer}' cannot be migrated, only shmem with role='master' can be migrated`));
    assert.match(out, new RegExp(`shmem device '${names.bell}' cannot be migrated, only shmem`));
    // The master too, here: this domain runs under TCG (below).
    assert.match(out, new RegExp(`shmem device '${names.master}' cannot be migrated under TCG`));
    assert.match(out, /<filesystem> 'media' \(usb-mtp\) cannot be migrated/);
    assert.equal(await hosts.a.state('shm'), 'running (booted)');
  });

  it("under TCG even a role='master' shmem is refused live (QEMU 10.0 would abort the source); the guest keeps running", async () => {
    // Without this refusal QEMU's TCG dirty tracking aborts the source QEMU mid-migration
    // (tlb_reset_dirty_range_all: Assertion `block == qemu_get_ram_block(end - 1)' failed), killing the guest.
    await define('shm-master', `<shmem name='${names.moving}' role='master'><model type='ivshmem-plain'/><size unit='M'>1</size></shmem>`);
    await hosts.a.ok('start', 'shm-master');
    const r = await hosts.a.ferry('migrate', '--live', 'shm-master', hosts.bPeer);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout + r.stderr, new RegExp(`shmem device '${names.moving}' cannot be migrated under TCG: .*it migrates under KVM`));
    assert.match(r.stderr, /hint: Shut the domain down and migrate it offline/);
    assert.equal(await hosts.a.state('shm-master'), 'running (booted)');
    assert.equal((await bar2(hosts.a, 'shm-master')).get('shmem0'), 1 << 20, 'QEMU still runs the device');
    await hosts.a.ok('destroy', 'shm-master');
  });

  it('offline, the definition moves with its shmems and usb-mtp filesystem', async () => {
    await hosts.a.ok('destroy', 'shm');
    await hosts.a.ok('migrate', '--offline', '--persistent', 'shm', hosts.bPeer);
    const xml = await hosts.b.ok('dumpxml', 'shm');
    assert.match(xml, new RegExp(`<shmem name='${names.peer}' role='peer'>`));
    assert.match(xml, /<server\/>/);
    assert.match(xml, /<driver type='mtp'\/>/);
  });

  it('a doorbell whose server does not listen: start is refused, coded, naming the socket', async () => {
    await define('shm-noserver', `<shmem name='${tag}-none'><model type='ivshmem-doorbell'/><server path='${hosts.dir.path}/no-server.sock'/></shmem>`);
    const r = await hosts.a.ferry('start', 'shm-noserver');
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(`<shmem> '${tag}-none': no ivshmem server socket at '${hosts.dir.path}/no-server.sock'[\\s\\S]*\\[SHMEM_SERVER_UNAVAILABLE\\]`),
    );
    assert.match(r.stderr, /hint: Start an ivshmem server on that socket first/);
  });
});
