import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { untilPasses } from '../helpers/processes.js';
import { RecoveryRig } from '../helpers/recovery-rig.js';

/**
 * docs/migration.md's recovery list, its post-copy branches (the rest are in
 * recovery-branches.test.ts, on the same rig): once post-copy starts the VM
 * runs on the destination and never again on the source, whatever restarts.
 */
describe('migration recovery in post-copy', () => {
  const rig = new RecoveryRig(600_000);
  const { hosts, name, qemus, src, crash, migratingToB, assertOnlyOn, backToA } = rig;
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
    // B's ferryd is held still, so A's Finish (sent once post-copy starts) can only wait for an answer ...
    process.kill(hosts.b.pid as number, 'SIGSTOP');
    const t0 = Date.now();
    await hosts.a.ok('migrate-postcopy', name);
    await rig.storeA.waitFor((w) => (newest(src(w), t0 - 60_000)?.phase ?? '') === 'Finish', 'A records Finish');
    // ... and B's ferryd dies with it unanswered; it comes back with the incoming QEMU in post-copy.
    await hosts.b.kill('SIGKILL');
    await hosts.b.start();
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    assert.match(hosts.a.logTail(200), /post-copy: the destination finished on a repeated Finish/);
    await assertOnlyOn(hosts.b, /^running/);
  });
});
