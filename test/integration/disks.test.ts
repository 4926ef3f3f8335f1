import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { qemuImg, serveFileOverHttp, serveFileOverNbd } from '../helpers/disk-servers.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { TwoHosts } from '../helpers/two-hosts.js';

interface BlockInfo {
  qdev?: string;
  tray_open?: boolean;
  inserted?: { file: string; ro: boolean; drv: string; image: { 'virtual-size': number } };
}

async function qmp<T>(host: TwoHosts['a'], name: string, execute: string, args?: object): Promise<T> {
  const out = await host.ok('qemu-monitor-command', name, JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }));
  return (JSON.parse(out) as { return: T }).return;
}

/**
 * The disk sources of the VM: an nbd disk (qemu-nbd on loopback, <reconnect>),
 * an http disk (curl driver, <timeout>/<readahead>), a qcow2 disk whose
 * <backingStore> names a base other than its header's, under <iotune>
 * limits, and <product> on the SATA disk, as QEMU has them.
 */
async function checkDiskSources(host: TwoHosts['a'], name: string, o: { dir: string; nbdPort: number; httpPort: number }, where: string): Promise<void> {
  const blocks = await queryBlock(host, name);
  const vdc = blocks.get('disk-vdc')?.inserted;
  assert.equal(vdc?.image['virtual-size'], 6 << 20, `nbd disk on ${where}`);
  assert.match(vdc?.file ?? '', new RegExp(`^nbd://127\\.0\\.0\\.1:${o.nbdPort}/exp0`), `nbd disk on ${where}`);
  const vdd = blocks.get('disk-vdd')?.inserted;
  assert.equal(vdd?.image['virtual-size'], 3 << 20, `http disk on ${where}`);
  assert.equal(vdd?.ro, true);
  assert.match(vdd?.file ?? '', new RegExp(`http://127\\.0\\.0\\.1:${o.httpPort}/http\\.raw`), `http disk on ${where}`);
  assert.equal(blocks.get('disk-vde')?.inserted?.drv, 'throttle', `vde is read through its throttle filter on ${where}`);
  const nodes = await qmp<Array<{ 'node-name': string; file: string; image: { 'backing-image'?: { filename: string } } }>>(
    host,
    name,
    'query-named-block-nodes',
  );
  const top = nodes.find((n) => n['node-name'] === 'fmt-vde');
  assert.equal(top?.image['backing-image']?.filename, `${o.dir}/base.qcow2`, `the <backingStore> base, not the header's, on ${where}`);
  assert.ok(
    nodes.some((n) => n['node-name'] === 'fmt-vde-b1' && n.file === `${o.dir}/base.qcow2`),
    `the backing layer's own node on ${where}`,
  );
  const limits = await qmp<Record<string, number>>(host, name, 'qom-get', { path: '/objects/throttle-disk-vde', property: 'limits' });
  assert.deepEqual([limits['bps-total'], limits['iops-read'], limits['iops-write']], [10485760, 400, 300], `iotune limits on ${where}`);
  assert.equal(await qmp<string>(host, name, 'qom-get', { path: '/machine/peripheral/disk-sda', property: 'model' }), 'FERRY-DISK-1');
}

/** QEMU's own view of the domain's drives (query-block), keyed by device id (disk-vda, ...). */
async function queryBlock(host: TwoHosts['a'], name: string): Promise<Map<string, BlockInfo>> {
  const out = await host.ok('qemu-monitor-command', name, '{"execute":"query-block"}');
  const reply = JSON.parse(out) as { return: BlockInfo[] };
  return new Map(reply.return.map((b) => [(b.qdev ?? '').replace(/^\/machine\/peripheral\//, '').replace(/\/.*$/, ''), b]));
}

function raw(path: string, size: string): string {
  execFileSync('truncate', ['-s', size, path]);
  return path;
}

/**
 * Disks on every bus of one q35 VM on real QEMU: virtio (iothread, queues, error
 * policy), SATA, two virtio-scsi LUNs on a controller with queues and an iothread,
 * a USB disk and an empty SATA cdrom, and the disk sources (nbd, http, an explicit
 * backing chain under iotune limits). QEMU has each; change-media puts a medium in
 * the cdrom; attach-disk / detach-disk hot-plug; a live migration keeps all of it.
 */
describe('disks and controllers on real QEMU', () => {
  const hosts = new TwoHosts();
  let full = '';
  let nbd: ChildProcess | undefined;
  let http: Server | undefined;

  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop().catch(() => undefined);
    if (full) execFileSync('umount', ['-l', full], { stdio: 'ignore' });
    nbd?.kill();
    http?.close();
  });

  it('runs virtio, sata, scsi, usb disks and an empty cdrom; changes media, hot-plugs, and migrates live with all of them', async () => {
    const d = hosts.dir.path;
    const name = 'disks';
    qemuImg('create', '-f', 'raw', `${d}/nbd.raw`, '6M');
    qemuImg('create', '-f', 'raw', `${d}/http.raw`, '3M');
    qemuImg('create', '-f', 'qcow2', `${d}/base.qcow2`, '10M');
    // The top image's header names another base: the definition's <backingStore> is what QEMU must open.
    qemuImg('create', '-f', 'qcow2', `${d}/decoy.qcow2`, '10M');
    qemuImg('create', '-f', 'qcow2', '-b', `${d}/decoy.qcow2`, '-F', 'qcow2', `${d}/top.qcow2`);
    const nbdServer = await serveFileOverNbd(`${d}/nbd.raw`, 'exp0');
    nbd = nbdServer.proc;
    const httpServer = await serveFileOverHttp(`${d}/http.raw`);
    http = httpServer.server;
    const sources = { dir: d, nbdPort: nbdServer.port, httpPort: httpServer.port };
    const disks = `
      <disk type='file' device='disk'><driver name='qemu' type='raw' iothread='1' queues='2' error_policy='stop'/><source file='${raw(`${d}/vda.raw`, '40M')}'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${raw(`${d}/sata.raw`, '8M')}'/><target dev='sda' bus='sata'/><serial>SATA-1</serial><wwn>5000c50015ea71ad</wwn><product>FERRY-DISK-1</product></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sdb' bus='sata'/><readonly/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${raw(`${d}/lun0.raw`, '4M')}'/><target dev='sdc' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${raw(`${d}/lun1.raw`, '6M')}'/><target dev='sdd' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${raw(`${d}/usb.raw`, '3M')}'/><target dev='sde' bus='usb'/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='exp0'><host name='127.0.0.1' port='${sources.nbdPort}'/><reconnect delay='5'/></source><target dev='vdc' bus='virtio'/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='http' name='http.raw'><host name='127.0.0.1' port='${sources.httpPort}'/><timeout seconds='30'/><readahead size='65536'/></source><target dev='vdd' bus='virtio'/><readonly/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${d}/top.qcow2'/>
        <backingStore type='file'><format type='qcow2'/><source file='${d}/base.qcow2'/><backingStore/></backingStore><target dev='vde' bus='virtio'/>
        <iotune><total_bytes_sec>10485760</total_bytes_sec><read_iops_sec>400</read_iops_sec><write_iops_sec>300</write_iops_sec></iotune></disk>`;
    const devices = `
      <controller type='scsi' index='0' model='virtio-scsi'><driver queues='2' iothread='1'/></controller>
      ${"<controller type='pci' model='pcie-root-port'/>".repeat(9)}`;
    // Six root ports: the endpoints take the first ones at define (as in libvirt), the spare ones take hot-plugged disks.
    const xml = guestXml({ name, disks, devices, extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=4' }).replace('<vcpu>', '<iothreads>1</iothreads><vcpu>');
    writeFileSync(`${d}/${name}.xml`, xml);
    await hosts.a.ok('define', `${d}/${name}.xml`);
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 60_000 });

    let blocks = await queryBlock(hosts.a, name);
    assert.equal(blocks.get('disk-vda')?.inserted?.image['virtual-size'], 40 << 20);
    assert.equal(blocks.get('disk-sda')?.inserted?.image['virtual-size'], 8 << 20);
    assert.equal(blocks.get('disk-sdc')?.inserted?.image['virtual-size'], 4 << 20);
    assert.equal(blocks.get('disk-sdd')?.inserted?.image['virtual-size'], 6 << 20);
    assert.equal(blocks.get('disk-sde')?.inserted?.image['virtual-size'], 3 << 20);
    assert.ok(blocks.has('disk-sdb'), 'the cdrom drive exists');
    assert.equal(blocks.get('disk-sdb')?.inserted, undefined, 'the cdrom is empty');
    await checkDiskSources(hosts.a, name, sources, 'the source');
    const live = await hosts.a.ok('dumpxml', name);
    assert.match(live, /<reconnect delay='5'\/>/);
    assert.match(live, /<backingStore type='file'>\s*<format type='qcow2'\/>\s*<source file='[^']*base\.qcow2'\/>\s*<backingStore\/>/);
    assert.match(live, /<iotune>\s*<total_bytes_sec>10485760<\/total_bytes_sec>/);

    // change-media: an "ISO" into the empty cdrom; QEMU reads it read-only with its size.
    const iso = raw(`${d}/media.iso`, '2M');
    assert.equal((await hosts.a.ok('change-media', name, 'sdb', iso, '--insert')).trim(), 'Successfully inserted media.');
    blocks = await queryBlock(hosts.a, name);
    assert.equal(blocks.get('disk-sdb')?.inserted?.file, iso);
    assert.equal(blocks.get('disk-sdb')?.inserted?.ro, true);
    assert.equal(blocks.get('disk-sdb')?.inserted?.image['virtual-size'], 2 << 20);
    assert.equal(blocks.get('disk-sdb')?.tray_open, false);
    const insertAgain = await hosts.a.ferry('change-media', name, 'sdb', iso, '--insert');
    assert.notEqual(insertAgain.code, 0);
    assert.match(insertAgain.stderr, /The disk device 'sdb' already has media/);

    // attach-disk: a virtio disk into a spare root port (kept for the migration), a SCSI LUN in and out again.
    const hot = raw(`${d}/hot.raw`, '5M');
    assert.equal((await hosts.a.ok('attach-disk', name, hot, 'vdb', '--live', '--config')).trim(), 'Disk attached successfully');
    const scsiHot = raw(`${d}/hot-scsi.raw`, '7M');
    await hosts.a.ok('attach-disk', name, scsiHot, 'sdf', '--targetbus', 'scsi', '--live');
    blocks = await queryBlock(hosts.a, name);
    assert.equal(blocks.get('disk-vdb')?.inserted?.image['virtual-size'], 5 << 20);
    assert.equal(blocks.get('disk-sdf')?.inserted?.image['virtual-size'], 7 << 20);
    assert.match(await hosts.a.ok('dumpxml', '--inactive', name), /<target dev='vdb' bus='virtio'\/>/, '--config wrote the persistent definition');
    assert.equal((await hosts.a.ok('detach-disk', name, 'sdf', '--live')).trim(), 'Disk detached successfully');
    assert.equal((await queryBlock(hosts.a, name)).has('disk-sdf'), false);
    assert.doesNotMatch(await hosts.a.ok('dumpxml', name), /dev='sdf'/);
    const sataHot = await hosts.a.ferry('attach-disk', name, hot, 'sdg', '--targetbus', 'sata', '--live');
    assert.notEqual(sataHot.code, 0);
    assert.match(sataHot.stderr, /Failed to attach disk[\s\S]*disk bus 'sata' cannot be hotplugged/);

    // A live migration carries every disk, the inserted medium and the hot-plugged disk.
    // The images live in the test's directory, where O_DIRECT (cache='none') may not work: the writeback cache needs --unsafe.
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', '--unsafe', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    blocks = await queryBlock(hosts.b, name);
    for (const [dev, size] of [
      ['vda', 40],
      ['sda', 8],
      ['sdc', 4],
      ['sdd', 6],
      ['sde', 3],
      ['vdb', 5],
      ['sdb', 2],
    ] as const) {
      assert.equal(blocks.get(`disk-${dev}`)?.inserted?.image['virtual-size'], size << 20, `${dev} on the destination`);
    }
    assert.equal(blocks.get('disk-sdb')?.inserted?.file, iso);
    // The network disks are shared storage: nothing was copied, the destination opened the same servers.
    await checkDiskSources(hosts.b, name, sources, 'the destination');
    const before = (await waitHeartbeats(() => hosts.b.serialLog(name), 1, { timeoutMs: 60_000 })).at(-1)?.seq ?? 0;
    await waitHeartbeats(() => hosts.b.serialLog(name), 2, { afterSeq: before, timeoutMs: 60_000 });

    // On the destination: the medium ejected, and the hot-plugged virtio disk unplugged (the guest releases it).
    assert.equal((await hosts.b.ok('change-media', name, 'sdb', '--eject')).trim(), 'Successfully ejected media.');
    assert.equal((await queryBlock(hosts.b, name)).get('disk-sdb')?.inserted, undefined);
    await hosts.b.ok('detach-disk', name, 'vdb', '--live');
    assert.equal((await queryBlock(hosts.b, name)).has('disk-vdb'), false);
    await hosts.b.ok('destroy', name);
  });

  it('runs an IDE disk, an IDE cdrom and a floppy on i440fx; a missing optional source is left out (startupPolicy)', async () => {
    const d = hosts.dir.path;
    const name = 'pc-ide';
    qemuImg('create', '-f', 'qcow2', `${d}/hdb.qcow2`, '5M');
    const disks = `
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${raw(`${d}/hda.raw`, '9M')}'/><target dev='hda' bus='ide'/><geometry cyls='18' heads='16' secs='63' trans='lba'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2' discard='unmap' discard_no_unref='on'><metadata_cache><max_size unit='KiB'>512</max_size></metadata_cache></driver><source file='${d}/hdb.qcow2'/><target dev='hdb' bus='ide'/>
        <throttlefilters><throttlefilter group='slow'/><throttlefilter group='shared'/></throttlefilters></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${raw(`${d}/hdc.iso`, '1M')}'/><target dev='hdc' bus='ide'/><readonly/></disk>
      <disk type='file' device='floppy'><driver name='qemu' type='raw'/><source file='${raw(`${d}/fda.img`, '1440K')}'/><target dev='fda' bus='fdc'/></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${d}/missing.iso' startupPolicy='requisite'/><target dev='hdd' bus='ide'/><readonly/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${d}/missing.raw' startupPolicy='optional'/><target dev='vdb' bus='virtio'/></disk>`;
    const groups = `<throttlegroups>
      <throttlegroup><total_iops_sec>500</total_iops_sec><group_name>slow</group_name></throttlegroup>
      <throttlegroup><read_bytes_sec>2000000</read_bytes_sec><group_name>shared</group_name></throttlegroup></throttlegroups>`;
    writeFileSync(`${d}/${name}.xml`, guestXml({ name, disks }).replace("machine='q35'", "machine='pc'").replace('<vcpu>', `${groups}<vcpu>`));
    await hosts.a.ok('define', `${d}/${name}.xml`);
    await hosts.a.ok('start', name);
    const blocks = await queryBlock(hosts.a, name);
    assert.equal(blocks.get('disk-hda')?.inserted?.image['virtual-size'], 9 << 20);
    assert.equal(blocks.get('disk-hdc')?.inserted?.ro, true);
    assert.equal(blocks.get('disk-fda')?.inserted?.image['virtual-size'], 1440 << 10);
    assert.equal(blocks.get('disk-hdb')?.inserted?.image['virtual-size'], 5 << 20, 'a qcow2 disk with metadata_cache and discard_no_unref');
    const geometry = await Promise.all(
      ['cyls', 'heads', 'secs', 'bios-chs-trans'].map((p) =>
        qmp<number | string>(hosts.a, name, 'qom-get', { path: '/machine/peripheral/disk-hda', property: p }),
      ),
    );
    assert.deepEqual(geometry, [18, 16, 63, 'lba']);
    // <throttlefilters>: hdb reads through two throttle filters, each in its <throttlegroup>.
    assert.equal(blocks.get('disk-hdb')?.inserted?.drv, 'throttle');
    const groupLimits = await Promise.all(
      ['slow', 'shared'].map((g) => qmp<Record<string, number>>(hosts.a, name, 'qom-get', { path: `/objects/throttle-${g}`, property: 'limits' })),
    );
    assert.deepEqual([groupLimits[0]?.['iops-total'], groupLimits[1]?.['bps-read']], [500, 2000000]);
    const filters = (await qmp<Array<{ 'node-name': string; drv: string }>>(hosts.a, name, 'query-named-block-nodes'))
      .filter((n) => n.drv === 'throttle')
      .map((n) => n['node-name'])
      .sort();
    assert.deepEqual(filters, ['thr-hdb-1', 'thr-hdb-2']);
    assert.ok(blocks.has('disk-hdd'), 'the requisite cdrom drive is there');
    assert.equal(blocks.get('disk-hdd')?.inserted, undefined, 'without its missing medium');
    assert.equal(blocks.has('disk-vdb'), false, 'the optional disk whose image is missing is left out');
    assert.doesNotMatch(await hosts.a.ok('dumpxml', name), /dev='vdb'/);
    assert.match(
      await hosts.a.ok('dumpxml', '--inactive', name),
      /<source file='[^']*missing\.raw' startupPolicy='optional'\/>/,
      'the persistent definition keeps it',
    );
    const xml = await hosts.a.ok('dumpxml', name);
    assert.match(xml, /<controller type='ide' index='0'>/);
    assert.match(xml, /<controller type='fdc' index='0'\/>/);
    await waitHeartbeats(() => hosts.a.serialLog(name), 1, { timeoutMs: 60_000 });
    await hosts.a.ok('destroy', name);
  });

  it("error_policy: 'report' gives a failed write to the guest, 'stop' pauses the domain (I/O error)", async () => {
    // A disk whose writes fail: a sparse image on a 2 MiB tmpfs, which fills up when the guest writes 4 MiB.
    full = `${hosts.dir.path}/full`;
    mkdirSync(full, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', full]);
    for (const policy of ['report', 'stop'] as const) {
      const name = `eio-${policy}`;
      const image = raw(`${full}/${policy}.raw`, '32M');
      const disks = `<disk type='file' device='disk'><driver name='qemu' type='raw' error_policy='${policy}'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
      writeFileSync(`${hosts.dir.path}/${name}.xml`, guestXml({ name, disks, extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=4' }));
      await hosts.a.ok('define', `${hosts.dir.path}/${name}.xml`);
      await hosts.a.ok('start', name);
      if (policy === 'report') {
        await waitFor(() => /ferry-load: cannot write \/dev\/vda/.test(hosts.a.serialLog(name)), 'the guest sees the write error');
        assert.equal((await hosts.a.ok('domstate', '--reason', name)).trim(), 'running (booted)');
      } else {
        assert.equal(await hosts.a.waitState(name, 'paused (I/O error)', 60_000), 'paused (I/O error)');
      }
      await hosts.a.ok('destroy', name);
      execFileSync('rm', ['-f', image]);
    }
  });
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
