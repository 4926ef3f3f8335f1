import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pidsMatching, untilPasses } from '../helpers/processes.js';
import { RecoveryRig } from '../helpers/recovery-rig.js';
import { assertIntactAfterSwitch } from '../helpers/heartbeat.js';

/**
 * docs/migration.md's recovery list, its post-copy branches (the rest are in
 * recovery-branches.test.ts, on the same rig): once post-copy starts the VM
 * runs on the destination and never again on the source, whatever restarts.
 */
describe('migration recovery in post-copy', () => {
  const rig = new RecoveryRig(600_000);
  const { hosts, name, qemus, src, dst, crash, migratingToB, assertOnlyOn, backToA } = rig;
  const newest = rig.newest;
  before(rig.start);
  after(rig.stop);

  it('destination restarted in post-copy while the source is frozen: its QEMU, waiting for pages, is kept (never taken for gone, never started twice); the migration completes once the source runs again', async () => {
    // Post-copy slow enough to be caught in the middle: QEMU's own knob, which ferry leaves alone.
    await hosts.a.ok(
      'qemu-monitor-command',
      name,
      JSON.stringify({ execute: 'migrate-set-parameters', arguments: { 'max-postcopy-bandwidth': 2 * 1024 * 1024 } }),
    );
    const migrating = (await migratingToB('--live', '--postcopy', '--persistent', '--undefinesource', '--bandwidth', '4')).done;
    await hosts.a.ok('migrate-postcopy', name);
    await hosts.b.waitState(name, /^running/, 60_000); // the vCPUs run on B now; pages still come from A
    // The source host freezes with the rest of the memory: its QEMU and its ferryd stop.
    const [sourceQemu] = qemus(hosts.a) as [number];
    process.kill(sourceQemu, 'SIGSTOP');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    try {
      const incoming = qemus(hosts.b);
      assert.equal(incoming.length, 1);
      const from = statSync(hosts.b.logFile).size;
      await crash(hosts.b);
      await hosts.b.start();
      // Its QEMU waits for pages: whether its monitor answers meanwhile depends on where its vCPUs stopped
      // (a fault taken holding QEMU's big lock blocks the monitor too). Either way B finds the domain running.
      await untilPasses('B finds its incoming QEMU', async () =>
        assert.match(readFileSync(hosts.b.logFile).subarray(from).toString('utf8'), /cannot reach this running domain's QEMU yet|reattached to running QEMU/),
      );
      assert.deepEqual(qemus(hosts.b), incoming, 'the incoming QEMU is kept');
      assert.match(await hosts.b.ok('list', '--all'), new RegExp(` ${name} +running`), 'and still running, for ferry too');
      assert.match((await hosts.b.ferry('start', name)).stderr, /domain is already running/);
      assert.deepEqual(qemus(hosts.b), incoming);
    } finally {
      process.kill(sourceQemu, 'SIGCONT');
      process.kill(hosts.a.pid as number, 'SIGCONT');
    }
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    await assertOnlyOn(hosts.b, /^running/);
    await backToA();
  });

  it("post-copy Finish whose reply is lost (the destination's ferryd dies with the request): the source asks again, the restarted destination resumes the VM, the migration completes", async () => {
    // The pages may all arrive while B's ferryd is down: what is tested is the Finish A asked before.
    await hosts.a.ok(
      'qemu-monitor-command',
      name,
      JSON.stringify({ execute: 'migrate-set-parameters', arguments: { 'max-postcopy-bandwidth': 32 * 1024 * 1024 } }),
    );
    const migrating = (await migratingToB('--live', '--postcopy', '--persistent', '--undefinesource', '--bandwidth', '4')).done;
    // B's lease manager is held still: B's ferryd answers A (so the switch to post-copy is safe and goes ahead), takes
    // A's Finish (sent once post-copy starts) and waits there for the disk lease, so A can only wait for an answer ...
    const lockds = pidsMatching(hosts.b.lockdSocket);
    assert.ok(lockds.length > 0, "B's ferry-lockd runs");
    for (const pid of lockds) process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    try {
      await hosts.a.ok('migrate-postcopy', name);
      await rig.storeA.waitFor((w) => (newest(src(w), t0 - 60_000)?.phase ?? '') === 'Finish', 'A records Finish');
      await rig.storeB.waitFor((w) => (newest(dst(w), t0 - 60_000)?.phase ?? '') === 'Finish', 'B takes Finish');
      // ... and B's ferryd dies with it unanswered; it comes back with the incoming QEMU in post-copy.
      await crash(hosts.b);
    } finally {
      for (const pid of lockds) process.kill(pid, 'SIGCONT');
    }
    await hosts.b.start();
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    assert.match(hosts.a.logTail(200), /post-copy: the destination finished on a repeated Finish/);
    await assertOnlyOn(hosts.b, /^running/);
  });
  it("source ferryd restarted in post-copy: recovery lets its QEMU send the last pages before it stops it (it was killed at once, taking the pages B's guest still needed)", async () => {
    await backToA();
    const postcopyBandwidth = (bytes: number): Promise<string> =>
      hosts.a.ok('qemu-monitor-command', name, JSON.stringify({ execute: 'migrate-set-parameters', arguments: { 'max-postcopy-bandwidth': bytes } }));
    await postcopyBandwidth(2 * 1024 * 1024);
    const migrating = (await migratingToB('--live', '--postcopy', '--persistent', '--undefinesource', '--bandwidth', '4')).done;
    const t0 = Date.now();
    await hosts.a.ok('migrate-postcopy', name);
    await rig.storeB.waitFor((w) => (newest(dst(w), t0 - 60_000)?.phase ?? '') === 'Succeeded', 'B runs the VM (Finish done)');
    const source = qemus(hosts.a);
    const [incoming] = qemus(hosts.b) as [number];
    assert.equal(source.length, 1);
    // B's QEMU is held still: pages stay on A (the guest's own page faults would pull them all in a few seconds) ...
    process.kill(incoming, 'SIGSTOP');
    try {
      // ... while A's ferryd crashes and comes back: the migration is Succeeded on B, post-copy still runs on A.
      const from = statSync(hosts.a.logFile).size;
      await crash(hosts.a);
      await migrating;
      await hosts.a.start();
      await untilPasses("A's recovery follows the post-copy", async () =>
        assert.match(readFileSync(hosts.a.logFile).subarray(from).toString('utf8'), /recovery waits for the source QEMU to send the last pages/),
      );
      assert.deepEqual(qemus(hosts.a), source, 'the source QEMU still sends');
    } finally {
      process.kill(incoming, 'SIGCONT');
    }
    await postcopyBandwidth(0);
    await assertOnlyOn(hosts.b, /^running/);
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog(name),
      () => hosts.b.serialLog(name),
    );
  });
});
