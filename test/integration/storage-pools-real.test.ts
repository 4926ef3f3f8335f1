import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { guestCorrupted, parseHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { NetnsPeer } from '../helpers/netns.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** The guest's disk oracle: writes each block with a generation and re-reads every block (ferry-load). */
const DISK_LOAD = 'ferry.disk=/dev/vda ferry.diskmb=8 ferry.diskrate=2 ferry.diskscrub=8';
const DISK_BLOCKS = (8 * 1024 * 1024) / 4096;

const mounted = (target: string): string | undefined =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[1] === target);
const capacityOf = async (h: FerrydHost, pool: string): Promise<number> =>
  (await h.api<{ pool: { stats?: { capacity: number } } }>(`/v1/pools/${pool}`)).pool.stats?.capacity ?? NaN;

/**
 * Pool types that need the kernel's block layer or a storage server, on real
 * ones: an `fs` pool on a loop device with ext4, a `logical` pool (lvm2) on a
 * loop device, and iSCSI disks served by a real target (tgt) in a network
 * namespace. This machine's kernel has no device-mapper and no iSCSI
 * initiator (no SCSI disks at all): what that rules out is said where it
 * applies, and in the README's table.
 */
describe('storage on real block devices and servers', () => {
  const hosts = new TwoHosts();
  const loops: string[] = [];
  const vg = `ferrytest${process.pid}`;
  const ns = new NetnsPeer('ferryiscsi', '10.78.9.1', '10.78.9.2');
  let tgtd: ChildProcess | undefined;
  const tgtControl = String(100 + (process.pid % 900));

  /** A loop device over a sparse file of `mib` MiB in the test's directory. */
  function loopDevice(name: string, mib: number): string {
    const file = `${hosts.dir.path}/${name}.img`;
    execFileSync('truncate', ['-s', `${mib}M`, file]);
    const dev = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
    loops.push(dev);
    return dev;
  }

  /** Waits until the guest re-read every block of its disk region `times` more times, with no error. */
  async function fullScrubs(h: FerrydHost, name: string, times = 1): Promise<void> {
    const start = parseHeartbeats(h.serialLog(name)).at(-1)?.diskScrubbed ?? 0;
    await eventually(
      () => (parseHeartbeats(h.serialLog(name)).at(-1)?.diskScrubbed ?? 0) >= start + times * DISK_BLOCKS,
      `${name} re-read its whole disk`,
      90_000,
    );
    const last = parseHeartbeats(h.serialLog(name)).at(-1);
    assert.ok((last?.diskWritten ?? 0) > 0, 'the guest wrote its disk');
    assert.equal(last?.diskErrors, 0, 'every block read back as written');
    assert.equal(guestCorrupted(hosts.serial(name)), false);
  }

  before(async () => {
    await hosts.start();
  });
  after(async () => {
    for (const h of [hosts.a, hosts.b]) {
      for (const pool of ['fsp', 'dirp', 'lvp']) await h?.ferry('pool-destroy', pool);
    }
    await hosts.stop().catch(() => undefined);
    killLeftovers(hosts.dir.path);
    // A pool whose device stayed busy (a test that failed half-way) is unmounted here, before its loop device goes.
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const target = line.split(' ')[1];
      if (target?.startsWith(`${hosts.dir.path}/`)) execFileSync('umount', ['-l', target]);
    }
    tgtd?.kill('SIGKILL');
    ns.destroy();
    try {
      execFileSync('vgremove', ['-f', vg], { stdio: 'ignore' });
    } catch {
      // never created
    }
    for (const dev of loops) {
      try {
        execFileSync('pvremove', ['-ff', '-y', dev], { stdio: 'ignore' });
      } catch {
        // not a PV
      }
      execFileSync('losetup', ['-d', dev]);
    }
    rmSync(hosts.dir.path, { recursive: true, force: true });
  });

  it('fs pool: a loop device with ext4, mounted by pool-start; a VM writes and re-reads its volume, moves to a dir pool (blockcopy), and pool-destroy unmounts', async () => {
    const dev = loopDevice('fs', 256);
    execFileSync('mkfs.ext4', ['-q', dev]);
    const target = `${hosts.dir.path}/fsp`;
    await hosts.a.ok('pool-define-as', '--name', 'fsp', '--type', 'fs', '--source-dev', dev, '--source-format', 'ext4', '--target', target);
    await hosts.a.ok('pool-build', 'fsp');
    await hosts.a.ok('pool-start', 'fsp');
    assert.match(mounted(target) ?? '', new RegExp(`^${dev} ${target} ext4 `), 'pool-start mounted the device');
    const fs = statfsSync(target);
    assert.equal(await capacityOf(hosts.a, 'fsp'), fs.blocks * fs.bsize, "the pool reports the filesystem's size");
    await hosts.a.ok('vol-create-as', 'fsp', 'fsvm.qcow2', '64M', '--format', 'qcow2');
    assert.ok(existsSync(`${target}/fsvm.qcow2`), 'the volume is on the mounted filesystem');

    await hosts.a.ok('pool-define-as', '--name', 'dirp', '--type', 'dir', '--target', `${hosts.dir.path}/dirp`);
    await hosts.a.ok('pool-build', 'dirp');
    await hosts.a.ok('pool-start', 'dirp');

    writeFileSync(
      `${hosts.dir.path}/fsvm.xml`,
      guestXml({
        name: 'fsvm',
        hbMs: 200,
        extraCmdline: DISK_LOAD,
        disks:
          "<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='fsp' volume='fsvm.qcow2'/><target dev='vda' bus='virtio'/></disk>",
      }),
    );
    await hosts.a.ok('define', `${hosts.dir.path}/fsvm.xml`);
    await hosts.a.ok('start', 'fsvm');
    await fullScrubs(hosts.a, 'fsvm');

    // The running guest's disk moves off the loop device, then the pool can go.
    const copy = await hosts.a.ferry('blockcopy', 'fsvm', 'vda', '--pool', 'dirp', '--wait', '--pivot');
    assert.equal(copy.code, 0, copy.stderr);
    assert.match(await hosts.a.ok('domblklist', 'fsvm'), /vda +dirp\/fsvm\.qcow2\n/);
    // The disk lease moved with the disk: the copy the guest writes now is leased, the original is free.
    const locks = await hosts.a.ok('lock-list');
    assert.match(locks, new RegExp(` ${hosts.dir.path}/dirp/fsvm\\.qcow2 +exclusive +fsvm +vda `), 'the copy is leased');
    assert.doesNotMatch(locks, /fsp\/fsvm\.qcow2/, 'the original is not leased any more');
    await fullScrubs(hosts.a, 'fsvm');
    await hosts.a.ok('pool-destroy', 'fsp');
    assert.equal(mounted(target), undefined, 'pool-destroy unmounted it');
    await hosts.a.ok('destroy', 'fsvm');
  });

  it('logical pool: pool-build makes the volume group on a loop device, pool-start and pool-info read it; without device-mapper no volume can be made', async () => {
    const dev = loopDevice('pv', 64);
    await hosts.a.ok('pool-define-as', '--name', 'lvp', '--type', 'logical', '--source-dev', dev, '--source-name', vg, '--target', `/dev/${vg}`);
    await hosts.a.ok('pool-build', 'lvp');
    assert.match(
      execFileSync('vgs', ['--noheadings', '-o', 'vg_name,pv_count', vg], { encoding: 'utf8' }),
      new RegExp(`${vg} +1`),
      'vgcreate made the group on the loop device',
    );
    await hosts.a.ok('pool-start', 'lvp');
    const vgSize = Number(execFileSync('vgs', ['--noheadings', '--units', 'b', '--nosuffix', '-o', 'vg_size', vg], { encoding: 'utf8' }).trim());
    assert.equal(await capacityOf(hosts.a, 'lvp'), vgSize);
    const r = await hosts.a.ferry('vol-create-as', 'lvp', 'lv1', '16M', '--format', 'raw');
    if (/ device-mapper$/m.test(readFileSync('/proc/misc', 'utf8'))) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(await hosts.a.ok('vol-list', 'lvp'), / lv1 +\/dev\//);
    } else {
      // This kernel: lvcreate needs device-mapper to activate the volume, and says so (and only that).
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^error: Failed to create vol lv1\nerror: lvcreate [^\n]*: \/dev\/mapper\/control: open failed: No such device\n +Failure to communicate with kernel device-mapper driver/,
      );
      assert.doesNotMatch(r.stderr, /leaked on lvcreate invocation/);
      assert.match(r.stderr, /\[POOL_COMMAND_FAILED\]/);
    }
    await hosts.a.ok('pool-destroy', 'lvp');
  });

  it("iSCSI: a LUN on a real target (tgt) in a network namespace, through QEMU's own initiator (libiscsi); the VM writes and re-reads it and moves live with its disk staying on the target", async () => {
    ns.create();
    execFileSync('truncate', ['-s', '64M', `${hosts.dir.path}/lun1.img`]);
    tgtd = spawn('ip', ['netns', 'exec', ns.name, 'tgtd', '-f', '-C', tgtControl, '--iscsi', `portal=${ns.nsAddr}:3260`], { stdio: 'ignore' });
    const iqn = 'iqn.2025-01.test.ferry:storage';
    const tgtadm = (...args: string[]): void => void ns.exec('tgtadm', '-C', tgtControl, '--lld', 'iscsi', ...args);
    await eventually(() => {
      try {
        tgtadm('--op', 'show', '--mode', 'target');
        return true;
      } catch {
        return false;
      }
    }, 'tgtd answers');
    tgtadm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', iqn);
    tgtadm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', `${hosts.dir.path}/lun1.img`);
    tgtadm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
    assert.match(execFileSync('qemu-img', ['info', `iscsi://${ns.nsAddr}:3260/${iqn}/1`], { encoding: 'utf8' }), /virtual size: 64 MiB/);

    writeFileSync(
      `${hosts.dir.path}/iscvm.xml`,
      guestXml({
        name: 'iscvm',
        memoryMiB: 192,
        touchMiB: 16,
        hbMs: 200,
        extraCmdline: DISK_LOAD,
        disks: `<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/><source protocol='iscsi' name='${iqn}/1'><host name='${ns.nsAddr}' port='3260'/></source><target dev='vda' bus='virtio'/></disk>`,
      }),
    );
    await hosts.a.ok('define', `${hosts.dir.path}/iscvm.xml`);
    await hosts.a.ok('start', 'iscvm');
    await fullScrubs(hosts.a, 'iscvm');
    const uuid = (await hosts.a.ok('domuuid', 'iscvm')).trim();
    assert.match(
      await hosts.a.ok('migrate-check', 'iscvm', hosts.bPeer),
      new RegExp(` Unmanaged disks +pass +reachable: vda: iscsi://${ns.nsAddr.replace(/\./g, '\\.')}:3260`),
    );
    await hosts.a.ok('migrate', '--live', '--persistent', '--undefinesource', 'iscvm', hosts.bPeer);
    assert.equal(pidsMatching(`${hosts.a.stateDir}/run/${uuid}`).length, 0);
    assert.equal(await hosts.b.state('iscvm'), 'running (migrated)');
    // Every block the guest wrote through A reads back through B from the target.
    await fullScrubs(hosts.b, 'iscvm');
    await hosts.b.ok('destroy', 'iscvm');
  });
});
