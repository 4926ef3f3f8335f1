import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/** Storage pools and volumes with real directories, real mounts and real qemu-img. */
describe('storage pools and volumes', () => {
  const dir = tempDir('ferry-pools-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const target = `${dir.path}/images/testvms`;

  before(async () => {
    await host.start();
  });
  after(async () => {
    await host.ferry('destroy', 'voldisk');
    await host.stopAll();
    try {
      execFileSync('umount', [`${dir.path}/nfs-target`]);
    } catch {
      // not mounted
    }
    dir.cleanup();
  });

  it('pool-define-as, pool-start (and --build), pool-list, pool-info, pool-autostart', async () => {
    assert.equal(await host.ok('pool-define-as', '--name', 'testvms', '--type', 'dir', '--target', target), 'Pool testvms defined\n\n');
    assert.match(await host.ok('pool-list', '--all'), /^ Name      State      Autostart\n-+\n testvms   inactive   no\n\n$/);
    const noDir = await host.ferry('pool-start', 'testvms');
    assert.equal(noDir.code, 1);
    assert.match(
      noDir.stderr,
      new RegExp(
        `^error: Failed to start pool testvms\nerror: cannot open directory '${target}': No such file or directory\nhint: Create it with "ferry pool-build testvms".*\\[POOL_START_FAILED\\]`,
      ),
    );
    assert.equal(await host.ok('pool-start', 'testvms', '--build'), 'Pool testvms started\n\n');
    assert.ok(existsSync(target));
    assert.equal(await host.ok('pool-autostart', 'testvms'), 'Pool testvms marked as autostarted\n\n');
    assert.match(await host.ok('pool-list'), / testvms   active   yes/);
    const info = await host.ok('pool-info', 'testvms');
    assert.match(
      info,
      /^Name: +testvms\nUUID: +[0-9a-f-]{36}\nState: +running\nPersistent: +yes\nAutostart: +yes\nCapacity: +[\d.]+ GiB\nAllocation: +[\d.]+ \w+\nAvailable: +[\d.]+ GiB\n/,
    );
    assert.match(await host.ok('pool-list', '--all', '--details'), /testvms +running +yes +yes +[\d.]+ GiB/);
    const again = await host.ferry('pool-define-as', '--name', 'testvms', '--type', 'dir', '--target', '/elsewhere');
    assert.match(again.stderr, /already exists with uuid/);
  });

  it('vol-create-as, vol-list, vol-info, vol-path, vol-delete on real images', async () => {
    assert.equal(await host.ok('vol-create-as', 'testvms', 'vm1.qcow2', '1G', '--format', 'qcow2'), 'Vol vm1.qcow2 created\n\n');
    await host.ok('vol-create-as', 'testvms', 'data.raw', '16M', '--allocation', '16M');
    const img = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', `${target}/vm1.qcow2`], { encoding: 'utf8' }));
    assert.deepEqual([img.format, img['virtual-size']], ['qcow2', 1024 ** 3]);
    assert.match(await host.ok('vol-list', 'testvms'), new RegExp(` data.raw    ${target}/data.raw\n vm1.qcow2   ${target}/vm1.qcow2\n`));
    assert.match(await host.ok('vol-info', 'vm1.qcow2', '--pool', 'testvms'), /^Name: +vm1.qcow2\nType: +file\nCapacity: +1.00 GiB\nAllocation: +[\d.]+ KiB\n/);
    assert.match(await host.ok('vol-info', `${target}/data.raw`), /Capacity: +16.00 MiB\nAllocation: +16.00 MiB/);
    assert.equal(await host.ok('vol-path', '--pool', 'testvms', 'data.raw'), `${target}/data.raw\n\n`);
    const exists = await host.ferry('vol-create-as', 'testvms', 'data.raw', '1M');
    assert.match(exists.stderr, /storage volume 'data.raw' exists already/);
    assert.equal(await host.ok('vol-delete', 'data.raw', '--pool', 'testvms'), 'Vol data.raw deleted\n\n');
    assert.equal(existsSync(`${target}/data.raw`), false);
    const missing = await host.ferry('vol-info', 'nope', '--pool', 'testvms');
    assert.match(missing.stderr, /^error: failed to get vol 'nope'\n/);
    const bad = await host.ferry('vol-create-as', 'testvms', 'x', 'lots');
    assert.match(bad.stderr, /Numeric value 'lots' for <capacity> option is malformed/);
  });

  it("a volume named .hidden is created, listed and answers, as in libvirt's dir pool; names that are not one file name are refused", async () => {
    assert.equal(await host.ok('vol-create-as', 'testvms', '.hidden', '1M'), 'Vol .hidden created\n\n');
    assert.ok(existsSync(`${target}/.hidden`));
    assert.match(await host.ok('vol-list', 'testvms'), new RegExp(` \\.hidden +${target}/\\.hidden\n`));
    assert.match(await host.ok('vol-info', '.hidden', '--pool', 'testvms'), /^Name: +\.hidden\nType: +file\nCapacity: +1.00 MiB\n/);
    assert.equal(await host.ok('vol-delete', '.hidden', '--pool', 'testvms'), 'Vol .hidden deleted\n\n');
    assert.equal(existsSync(`${target}/.hidden`), false);
    for (const [name, message] of [
      ['..', "invalid volume name '..'"],
      ['a/b', "volume name 'a/b' cannot contain '/'"],
      ['bad\tname', "invalid volume name 'bad?name'"],
    ]) {
      const r = await host.ferry('vol-create-as', 'testvms', name as string, '1M');
      assert.equal(r.code, 1, name);
      assert.match(
        r.stderr,
        new RegExp(`error: ${(message as string).replace(/[.?]/g, '\\$&')}\nhint: A volume name is a file name in the pool.*\\[INVALID_ARGUMENT\\]`),
        r.stderr,
      );
    }
    assert.doesNotMatch(await host.ok('vol-list', 'testvms'), /bad|\ba\b/, 'nothing was created');
  });

  it('a disk of type volume refers to pool and volume; the guest writes to it', async () => {
    await host.ok('vol-create-as', 'testvms', 'voldisk.qcow2', '64M', '--format', 'qcow2');
    const disk =
      "<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='testvms' volume='voldisk.qcow2'/><target dev='vda' bus='virtio'/></disk>";
    writeFileSync(`${dir.path}/voldisk.xml`, guestXml({ name: 'voldisk', disks: disk, extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=8 ferry.diskrate=2' }));
    await host.ok('define', `${dir.path}/voldisk.xml`);
    await host.ok('start', 'voldisk');
    await waitHeartbeats(() => host.serialLog('voldisk'), 5);
    await eventually(() => (parseHeartbeats(host.serialLog('voldisk')).at(-1)?.diskWritten ?? 0) > 0, 'the guest writes to its volume');
    assert.match(await host.ok('domblklist', 'voldisk'), / vda      testvms\/voldisk.qcow2/);
    await host.ok('destroy', 'voldisk');
  });

  it('pool-autostart survives a ferryd restart; pool-destroy and pool-undefine', async () => {
    await host.restart();
    assert.match(await host.ok('pool-list'), / testvms   active   yes/);
    const busy = await host.ferry('pool-undefine', 'testvms');
    assert.match(busy.stderr, /storage pool 'testvms' is still active/);
    assert.equal(await host.ok('pool-destroy', 'testvms'), 'Pool testvms destroyed\n\n');
    const off = await host.ferry('vol-list', 'testvms');
    assert.match(off.stderr, /storage pool 'testvms' is not active/);
    assert.equal(await host.ok('pool-undefine', 'testvms'), 'Pool testvms has been undefined\n\n');
    assert.equal((await host.ok('pool-list', '--all', '--name')).trim(), '');
  });

  it("a netfs pool (the seed's) mounts its source; with a shared directory already mounted on the target it starts", async () => {
    const nfsTarget = `${dir.path}/nfs-target`;
    assert.equal(
      await host.ok('pool-define-as', '--name', 'seedvms', '--type', 'netfs', '--source-host', '192.0.2.1', '--source-path', '/testvms', '--target', nfsTarget),
      'Pool seedvms defined\n\n',
    );
    const xml = await host.ok('pool-dumpxml', 'seedvms');
    assert.match(xml, /<pool type='netfs'>[\s\S]*<host name='192.0.2.1'\/>[\s\S]*<dir path='\/testvms'\/>[\s\S]*<path>.*nfs-target<\/path>/);
    // This machine's kernel has no NFS client: mount(8) fails, and ferry says how.
    const r = await host.ferry('pool-start', 'seedvms');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Failed to start pool seedvms\nerror: failed to mount the source of pool 'seedvms'.*mount -t nfs 192.0.2.1:\/testvms/);
    // Shared storage stands in for the NFS export: the directory the hosts share, mounted on the target.
    const shared = `${dir.path}/shared-export`;
    mkdirSync(shared, { recursive: true });
    mkdirSync(nfsTarget, { recursive: true });
    execFileSync('mount', ['--bind', shared, nfsTarget]);
    assert.equal(await host.ok('pool-start', 'seedvms'), 'Pool seedvms started\n\n');
    await host.ok('vol-create-as', 'seedvms', 'MasteringKVM01.qcow2', '32M', '--format', 'qcow2');
    assert.ok(existsSync(`${shared}/MasteringKVM01.qcow2`), 'the volume is in the shared directory');
    await host.ok('pool-destroy', 'seedvms');
    assert.equal(existsSync(`${shared}/MasteringKVM01.qcow2`), true);
  });

  it('pool-define takes libvirt pool XML; pool-refresh rescans', async () => {
    const xmlPath = `${dir.path}/pool.xml`;
    writeFileSync(xmlPath, `<pool type='dir'><name>fromxml</name><target><path>${dir.path}/fromxml</path></target></pool>`);
    assert.equal(await host.ok('pool-define', xmlPath), `Pool fromxml defined from ${xmlPath}\n\n`);
    await host.ok('pool-build', 'fromxml');
    await host.ok('pool-start', 'fromxml');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', `${dir.path}/fromxml/outside.img`, '1M']);
    assert.equal(await host.ok('pool-refresh', 'fromxml'), 'Pool fromxml refreshed\n\n');
    assert.match(await host.ok('vol-list', 'fromxml'), / outside.img /);
    const bad = await host.ferry('pool-define', `${dir.path}/missing.xml`);
    assert.match(bad.stderr, /Failed to open file/);
  });

  it('a copy whose contents differ is detected (the check storage migration runs after each copy)', async () => {
    const { sameContents } = await import('../../src/storage/nbd-copy.js');
    const { runCommand } = await import('../../src/storage/command-runner.js');
    const a = `${dir.path}/orig.qcow2`;
    const b = `${dir.path}/copy.raw`;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', a, '8M']);
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x42 0 1M', a]);
    execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', a, b]);
    assert.equal(await sameContents(runCommand, { source: a, format: 'qcow2', target: b }), true);
    execFileSync('qemu-io', ['-f', 'raw', '-c', 'write -P 0x43 4096 512', b]);
    assert.equal(await sameContents(runCommand, { source: a, format: 'qcow2', target: b }), false);
  });
});
