import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { bootLabGuest, ferryOnHost, labSerialLog, okOnHost } from '../helpers/lab-cli.js';
import { guestCorrupted, waitHeartbeats } from '../helpers/heartbeat.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const UUID = '6f1d1d0e-52a3-4c1e-9d55-0000000000db';

/**
 * The seed's "what if I start the VM accidentally on both hypervisors?", on
 * lab hosts: each runs its own ferryd and ferry-lockd in its own namespaces,
 * and they share only the storage and the lockspace directory.
 */
describe('one VM, one host: leases between lab hosts that share storage and a lockspace', () => {
  const dir = tempDir('ferry-e2e-leases-');
  let lab: Lab;
  let image = '';
  let hash = '';

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2elk' });
    image = `${lab.plan.sharedDir}/db.qcow2`;
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    hash = createHash('sha256').update(realpathSync(image)).digest('hex');
    await bootLabGuest(lab, 'h1', 1, {
      name: 'db',
      uuid: UUID,
      mac: '52:54:00:fe:03:01',
      memoryMiB: 192,
      touchMiB: 16,
      hbMs: 200,
      disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`,
    });
    // The operator defines the same VM on the second hypervisor too, as the seed does.
    await okOnHost(lab, 'h2', 'define', `${lab.plan.sharedDir}/db.xml`);
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it("a start on h2 while the VM runs on h1 fails with the seed's message; h1's ferry-lockd holds the lease", async () => {
    const r = await ferryOnHost(lab, 'h2', 'start', 'db');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.split('\n').slice(0, 2).join('\n'),
      `error: Failed to start domain 'db'\nerror: resource busy: Lockspace resource '${hash}' is locked`,
    );
    assert.deepEqual(qemuPidsOf(lab.host('h2').stateDir, UUID), [], 'the refused start left no QEMU on h2');
    assert.equal(qemuPidsOf(lab.host('h1').stateDir, UUID).length, 1, 'one QEMU of db, on h1');
    assert.match(await okOnHost(lab, 'h1', 'lock-list'), new RegExp(`${hash} .* exclusive +db +vda`));
    assert.doesNotMatch(await okOnHost(lab, 'h2', 'lock-list'), /\bdb\b/);
  });

  it('lock-clear on h2 refuses: it asks its peers over TLS and h1 runs the VM', async () => {
    const r = await ferryOnHost(lab, 'h2', 'lock-clear', `${lab.plan.lockspaceDir}/${hash}`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: Requested operation is not valid: domain 'db' runs on host h1/);
  });

  it('a live migration h1→h2 hands the lease over; then h1 cannot start it', async () => {
    const r = await ferryOnHost(lab, 'h1', 'migrate', '--live', '--persistent', '--undefinesource', 'db', lab.peerUri(lab.host('h2')));
    assert.equal(r.code, 0, r.stderr);
    assert.match(await okOnHost(lab, 'h2', 'lock-list'), new RegExp(`${hash} .* exclusive +db +vda`));
    assert.doesNotMatch(await okOnHost(lab, 'h1', 'lock-list'), /\bdb\b/);
    await okOnHost(lab, 'h1', 'define', `${lab.plan.sharedDir}/db.xml`);
    const again = await ferryOnHost(lab, 'h1', 'start', 'db');
    assert.match(again.stderr, new RegExp(`resource busy: Lockspace resource '${hash}' is locked`));
    assert.deepEqual(qemuPidsOf(lab.host('h1').stateDir, UUID), [], 'the refused start left no QEMU on h1');
    assert.equal(qemuPidsOf(lab.host('h2').stateDir, UUID).length, 1, 'one QEMU of db, on h2');
    const before = labSerialLog(lab, 'h2', 'db').length;
    await waitHeartbeats(() => labSerialLog(lab, 'h2', 'db').slice(before), 2);
    assert.equal(guestCorrupted(labSerialLog(lab, 'h1', 'db') + labSerialLog(lab, 'h2', 'db')), false);
  });

  it('after destroy on h2, h1 starts it', async () => {
    await okOnHost(lab, 'h2', 'destroy', 'db');
    assert.equal(await okOnHost(lab, 'h1', 'start', 'db'), "Domain 'db' started\n\n");
    await okOnHost(lab, 'h1', 'destroy', 'db');
  });
});
