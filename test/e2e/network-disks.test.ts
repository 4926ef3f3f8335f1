import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { guestCorrupted, parseHeartbeats } from '../helpers/heartbeat.js';
import { bootLabGuest, ferryOnHost, labSerialLog, okOnHost } from '../helpers/lab-cli.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const nbdDisk = (host: string, port: number): string =>
  `<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/><source protocol='nbd' name='data'><host name='${host}' port='${port}'/></source><target dev='vda' bus='virtio'/></disk>`;
const DISK_LOAD = 'ferry.disk=/dev/vda ferry.diskmb=16 ferry.diskrate=2 ferry.diskscrub=8';

/** qemu-nbd serving `image` as export 'data' on host:port, inside a namespace (until the lab goes down). */
function serveNbd(ns: string, image: string, host: string, port: number): ChildProcess {
  return spawn(
    'ip',
    ['netns', 'exec', ns, 'qemu-nbd', '-f', 'qcow2', '-x', 'data', '-b', host, '-p', String(port), '--persistent', '--shared=0', '--cache=none', image],
    { stdio: 'ignore' },
  );
}

/**
 * Network disks the hosts do not manage: an NBD server on the storage side
 * (the switch's management address), reached by both hosts. The VM moves
 * live with its disk staying where it is; the pre-flight checks refuse a
 * destination that cannot reach a VM's NBD server.
 */
describe('network disks (NBD) between lab hosts', () => {
  const dir = tempDir('ferry-e2e-nbd-');
  let lab: Lab;
  const servers: ChildProcess[] = [];

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2enbd' });
    for (const name of ['shared', 'local']) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${lab.plan.sharedDir}/${name}.qcow2`, '64M']);
    servers.push(serveNbd(lab.plan.switchNs, `${lab.plan.sharedDir}/shared.qcow2`, lab.plan.switchMgmtAddress, 10809));
    // A server only h2 itself can reach: its own loopback.
    servers.push(serveNbd(lab.host('h2').ns, `${lab.plan.sharedDir}/local.qcow2`, '127.0.0.1', 10810));
    await eventually(() => {
      try {
        execFileSync('ip', ['netns', 'exec', lab.plan.switchNs, 'qemu-img', 'info', `nbd://${lab.plan.switchMgmtAddress}:10809/data`], { stdio: 'ignore' });
        execFileSync('ip', ['netns', 'exec', lab.host('h2').ns, 'qemu-img', 'info', 'nbd://127.0.0.1:10810/data'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    }, 'both NBD servers answer');
  });

  after(async () => {
    for (const s of servers) s.kill();
    await lab?.down();
    dir.cleanup();
  });

  it('a VM writing to an NBD disk moves live h1→h2; its disk stays on the server and every block checks out', async () => {
    await bootLabGuest(lab, 'h1', 2, {
      name: 'nbdvm',
      mac: '52:54:00:fe:04:01',
      memoryMiB: 192,
      touchMiB: 16,
      hbMs: 200,
      disks: nbdDisk(lab.plan.switchMgmtAddress, 10809),
      extraCmdline: DISK_LOAD,
    });
    await eventually(() => (parseHeartbeats(labSerialLog(lab, 'h1', 'nbdvm')).at(-1)?.diskWritten ?? 0) > 200, 'the guest writes to its NBD disk', 40_000);
    const check = await okOnHost(lab, 'h1', 'migrate-check', 'nbdvm', lab.peerUri(lab.host('h2')));
    assert.match(check, new RegExp(` Unmanaged disks +pass +reachable: vda: nbd://${lab.plan.switchMgmtAddress.replace(/\./g, '\\.')}:10809\n`));
    const r = await ferryOnHost(lab, 'h1', 'migrate', '--live', '--persistent', '--undefinesource', '--verbose', 'nbdvm', lab.peerUri(lab.host('h2')));
    assert.equal(r.code, 0, r.stderr);
    const atSwitch = parseHeartbeats(labSerialLog(lab, 'h2', 'nbdvm')).at(-1)?.diskScrubbed ?? 0;
    // The guest re-reads every block it wrote (16 MiB = 4096 blocks) from the NBD server, now through h2.
    await eventually(
      () => (parseHeartbeats(labSerialLog(lab, 'h2', 'nbdvm')).at(-1)?.diskScrubbed ?? 0) > atSwitch + 4096,
      'a full scrub of the disk on h2',
      60_000,
    );
    const last = parseHeartbeats(labSerialLog(lab, 'h2', 'nbdvm')).at(-1);
    assert.equal(last?.diskErrors, 0);
    assert.equal(guestCorrupted(labSerialLog(lab, 'h1', 'nbdvm') + labSerialLog(lab, 'h2', 'nbdvm')), false);
    await okOnHost(lab, 'h2', 'destroy', 'nbdvm');
  });

  it('an NBD server the destination cannot reach fails the pre-flight checks, with the fix', async () => {
    await bootLabGuest(lab, 'h2', 3, {
      name: 'stuck',
      mac: '52:54:00:fe:04:02',
      memoryMiB: 128,
      touchMiB: 8,
      hbMs: 200,
      disks: nbdDisk('127.0.0.1', 10810),
    });
    const r = await ferryOnHost(lab, 'h2', 'migrate', '--live', 'stuck', lab.peerUri(lab.host('h1')));
    assert.equal(r.code, 1);
    assert.match(r.stderr, / Unmanaged disks +fail +vda: nbd server 127\.0\.0\.1:10810 is not reachable from h1\n/);
    assert.match(r.stderr, /error: pre-flight checks failed: Unmanaged disks\nhint: Open the storage network to the destination/);
    assert.match(await okOnHost(lab, 'h2', 'domstate', 'stuck'), /running/);
    assert.equal((await ferryOnHost(lab, 'h1', 'dominfo', 'stuck')).code, 1, 'nothing arrived on h1');
    await okOnHost(lab, 'h2', 'destroy', 'stuck');
  });
});
