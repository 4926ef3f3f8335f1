import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { GlusterServer } from '../helpers/gluster.js';
import { guestCorrupted, parseHeartbeats } from '../helpers/heartbeat.js';
import { bootLabGuest, ferryOnHost, labSerialLog, okOnHost } from '../helpers/lab-cli.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/** The same path on every host; each host's mount namespace mounts the volume there on its own. */
const TARGET = '/run/ferry/pools/gl';

/**
 * Shared storage over a real network filesystem: a GlusterFS server on the
 * storage side (the switch), a `gluster` pool that each lab host mounts
 * through FUSE, and a VM on it that moves live between the hosts while it
 * writes to its disk.
 */
describe('a gluster pool shared by lab hosts (real glusterd, FUSE mounts)', () => {
  const dir = tempDir('ferry-e2e-gluster-');
  let lab: Lab;

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2egl' });
    await new GlusterServer({ netns: lab.plan.switchNs, address: lab.plan.switchMgmtAddress, dir: `${dir.path}/gluster` }).start('ferryvms');
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it('pool-define-as --type gluster and pool-start mount the volume on each host; a volume made on h1 shows on h2', async () => {
    for (const h of ['h1', 'h2']) {
      await okOnHost(
        lab,
        h,
        'pool-define-as',
        '--name',
        'gl',
        '--type',
        'gluster',
        '--source-host',
        lab.plan.switchMgmtAddress,
        '--source-name',
        'ferryvms',
        '--target',
        TARGET,
      );
      await okOnHost(lab, h, 'pool-start', 'gl');
      assert.match(
        lab.onHost(lab.host(h), 'cat', '/proc/self/mounts'),
        new RegExp(`^${lab.plan.switchMgmtAddress.replace(/\./g, '\\.')}:/ferryvms ${TARGET} fuse\\.glusterfs `, 'm'),
      );
    }
    assert.match(await okOnHost(lab, 'h1', 'pool-info', 'gl'), /State: +running/);
    await okOnHost(lab, 'h1', 'vol-create-as', 'gl', 'db.qcow2', '64M', '--format', 'qcow2');
    await okOnHost(lab, 'h2', 'pool-refresh', 'gl');
    assert.match(await okOnHost(lab, 'h2', 'vol-list', 'gl'), new RegExp(` db\\.qcow2 +${TARGET}/db\\.qcow2`));
  });

  it('a VM writing to a disk in the pool moves live h1→h2; every block it wrote reads back on h2', async () => {
    await bootLabGuest(lab, 'h1', 4, {
      name: 'glvm',
      mac: '52:54:00:fe:05:01',
      memoryMiB: 192,
      touchMiB: 16,
      hbMs: 200,
      disks:
        "<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='gl' volume='db.qcow2'/><target dev='vda' bus='virtio'/></disk>",
      extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=16 ferry.diskrate=2 ferry.diskscrub=8',
    });
    await eventually(
      () => (parseHeartbeats(labSerialLog(lab, 'h1', 'glvm')).at(-1)?.diskWritten ?? 0) > 200,
      'the guest writes to its disk on gluster',
      60_000,
    );
    assert.match(await okOnHost(lab, 'h1', 'migrate-check', 'glvm', lab.peerUri(lab.host('h2'))), / Storage +pass /);
    const r = await ferryOnHost(lab, 'h1', 'migrate', '--live', '--persistent', '--undefinesource', 'glvm', lab.peerUri(lab.host('h2')));
    assert.equal(r.code, 0, r.stderr);
    const atSwitch = parseHeartbeats(labSerialLog(lab, 'h2', 'glvm')).at(-1)?.diskScrubbed ?? 0;
    await eventually(
      () => (parseHeartbeats(labSerialLog(lab, 'h2', 'glvm')).at(-1)?.diskScrubbed ?? 0) > atSwitch + 4096,
      'a full scrub of the disk on h2',
      90_000,
    );
    assert.equal(parseHeartbeats(labSerialLog(lab, 'h2', 'glvm')).at(-1)?.diskErrors, 0);
    assert.equal(guestCorrupted(labSerialLog(lab, 'h1', 'glvm') + labSerialLog(lab, 'h2', 'glvm')), false);
    await okOnHost(lab, 'h2', 'destroy', 'glvm');
  });
});
