import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { QmpClient } from '../../src/qmp/client.js';
import { connectQmpSocket } from '../../src/qmp/transport.js';
import { eventually } from '../helpers/processes.js';
import { RecoveryRig } from '../helpers/recovery-rig.js';
import type { StoredMigration } from '../helpers/store-watch.js';
import { ReplyLosingProxy } from '../helpers/reply-losing-proxy.js';
import { freePort } from '../helpers/two-hosts.js';

/** How long B keeps an incoming VM whose source stays silent (test_migration_orphan_timeout_ms; 10 minutes by default). */
const ORPHAN_MS = 6000;

/**
 * docs/migration.md's recovery list, one branch per test. Each test stops a
 * ferryd at the phase its store records (SIGSTOP the moment the phase is
 * written, then SIGKILL), restarts it, and checks the outcome the document
 * promises: the VM runs on exactly one host (the kernel's process list),
 * in the documented state, with exactly one persistent definition, and the
 * guest keeps beating with its memory intact. The slow migrations are pre-copy
 * (`--policy manual`): under `auto`, a dirty-rate reading on a loaded machine
 * can plan post-copy, another branch (recovery-postcopy.test.ts).
 */
describe('migration recovery, branch by branch', () => {
  const rig = new RecoveryRig(ORPHAN_MS);
  const { hosts, name, qemus, src, dst, newest, crash, assertOnlyOn, waitLogLine, migratingToB, backToA } = rig;
  before(rig.start);
  after(rig.stop);

  it('source in Prepare (the destination has its incoming QEMU): rolled back, the destination told to abort', async () => {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    // B recording Prepare means A sent Prepare and waits for the answer: stop A there.
    await rig.storeB.waitFor((w) => newest(dst(w), t0), 'B records the incoming migration');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(rig.storeA)?.phase, 'Prepare', 'A is stopped in Prepare');
    // B finishes preparing (its answer waits, unread, in A's socket), then A dies.
    await rig.storeB.waitFor((w) => dst(w)?.data.port !== undefined, 'B listens for the stream');
    assert.equal(qemus(hosts.b).length, 1, 'the incoming QEMU runs on B');
    await hosts.a.kill('SIGKILL');
    assert.equal((await migrating).code, 1, 'the CLI lost its daemon');
    await hosts.a.start();
    await assertOnlyOn(hosts.a, /^running/);
    const id = src(rig.storeA)?.id as string;
    assert.deepEqual(
      rig.storeA.phaseLog(id, 'source').map((p) => p.phase),
      ['Begin', 'Prepare', 'Failed'],
    );
    assert.deepEqual(
      rig.storeB.phaseLog(id, 'destination').map((p) => p.phase),
      ['Prepare', 'Cancelled'],
    );
    assert.equal(src(rig.storeA)?.cleanupDone, true);
  });

  it('source in Perform while QEMU still sends: cancelled and rolled back', async () => {
    const migrating = (await migratingToB('--live', '--persistent', '--undefinesource', '--bandwidth', '8', '--policy', 'manual')).done;
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(rig.storeA)?.phase, 'Perform');
    await hosts.a.kill('SIGKILL');
    await migrating;
    await hosts.a.start();
    await assertOnlyOn(hosts.a, /^running/);
    const id = src(rig.storeA)?.id as string;
    assert.deepEqual(
      rig.storeA.phaseLog(id, 'source').map((p) => p.phase),
      ['Begin', 'Prepare', 'Perform', 'Failed'],
    );
    assert.match(src(rig.storeA)?.error ?? '', /ferryd restarted during Perform \(QEMU migration (active|pre-switchover|device)\)/);
    assert.deepEqual(
      rig.storeB.phaseLog(id, 'destination').map((p) => p.phase),
      ['Prepare', 'Cancelled'],
    );
  });

  it('source in Perform after QEMU completed the switch: the destination takes over (Finish), the source QEMU is stopped', async () => {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    // The leases are written to the store at the pre-switchover pause, just before QEMU is told to switch over.
    await rig.storeA.waitFor((w) => newest(src(w), t0)?.data.lockState !== undefined, 'A gave up the leases at the switch');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(rig.storeA)?.phase, 'Perform');
    await hosts.a.kill('SIGKILL');
    await migrating;
    // ferryd died after (or right before) telling QEMU to switch over: the source QEMU completes on its own.
    const qmp = new QmpClient();
    await qmp.connect(await connectQmpSocket(`${hosts.a.stateDir}/run/${rig.uuid}/qmp.sock`));
    try {
      const query = async (): Promise<string> => (await qmp.execute<{ status?: string }>('query-migrate')).status ?? 'none';
      if ((await query()) === 'pre-switchover') await qmp.execute('migrate-continue', { state: 'pre-switchover' });
      await eventually(async () => (await query()) === 'completed', 'the source QEMU completed the migration');
      assert.equal((await qmp.execute<{ running: boolean }>('query-status')).running, false, 'the source stays paused');
    } finally {
      qmp.disconnect();
    }
    await hosts.a.start();
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    const id = src(rig.storeA)?.id as string;
    assert.deepEqual(
      rig.storeA.phaseLog(id, 'source').map((p) => p.phase),
      ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded'],
    );
    assert.deepEqual(
      rig.storeB.phaseLog(id, 'destination').map((p) => p.phase),
      ['Prepare', 'Finish', 'Succeeded'],
    );
    assert.match(await hosts.b.ok('lock-list'), / exclusive +rcv +vda /, 'B holds the disk lease');
    assert.doesNotMatch(await hosts.a.ok('lock-list'), /rcv/);
    await backToA();
  });

  it('Finish with the reply lost: MIG_OUTCOME_UNKNOWN, the source stays paused until the destination answers, then Confirm', async () => {
    const bPort = Number(/:(\d+)\//.exec(hosts.bPeer)?.[1]);
    const port = await freePort();
    const proxy = new ReplyLosingProxy({ host: '127.0.0.1', port: bPort }, /POST \/peer\/v1\/migrations\/[^/ ]+\/finish /);
    await proxy.listen('127.0.0.1', port);
    try {
      const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, `ferry+tcp://127.0.0.1:${port}/system`);
      assert.ok(proxy.lost, 'the proxy dropped the answer to Finish');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /error: operation failed: the destination did not say whether it resumed the domain; it stays paused here until it does/);
      assert.match(r.stderr, /\[MIG_OUTCOME_UNKNOWN\]/);
      // B resumed the VM; A does not know, so its vCPUs stay stopped: they run on one host only.
      assert.equal(dst(rig.storeB)?.phase, 'Succeeded');
      assert.match(await hosts.a.state(name), /^paused/);
      assert.equal(src(rig.storeA)?.phase, 'Finish');
      assert.equal(qemus(hosts.a).length, 1, 'the source QEMU is kept (paused) while the outcome is unknown');
    } finally {
      proxy.heal();
    }
    // Recovery keeps asking (every 2 s); now it learns B resumed the VM.
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    const id = src(rig.storeA)?.id as string;
    assert.deepEqual(
      rig.storeA.phaseLog(id, 'source').map((p) => p.phase),
      ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded'],
    );
    await proxy.close();
    await backToA();
  });

  it('source in Confirm: the migration completes, the source QEMU is gone and never resumes', async () => {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    await rig.storeA.waitFor((w) => newest(src(w), t0)?.phase === 'Confirm', 'A records Confirm');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(rig.storeA)?.phase, 'Confirm');
    await hosts.a.kill('SIGKILL');
    await migrating;
    await hosts.a.start();
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    const rec = src(rig.storeA) as StoredMigration;
    assert.deepEqual(
      rig.storeA.phaseLog(rec.id, 'source').map((p) => p.phase),
      ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded'],
    );
    assert.equal(rec.cleanupDone, true);
    await backToA();
  });

  it('destination restarted while the source still sends: the incoming VM is kept and the migration completes', async () => {
    const migrating = (await migratingToB('--live', '--persistent', '--undefinesource', '--bandwidth', '8', '--policy', 'manual')).done;
    // A is held still (its QEMU keeps sending, and stops at the switch-over) while B's ferryd crashes and comes back.
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    try {
      assert.equal(src(rig.storeA)?.phase, 'Perform');
      assert.equal(dst(rig.storeB)?.phase, 'Prepare');
      const incoming = qemus(hosts.b);
      assert.equal(incoming.length, 1);
      const from = statSync(hosts.b.logFile).size;
      await crash(hosts.b);
      await hosts.b.start();
      // B's recovery found the incoming migration, then its lease check ran over the running domains.
      await waitLogLine(hosts.b, from, '"msg":"lease check done"');
      assert.deepEqual(qemus(hosts.b), incoming, 'the incoming QEMU is kept');
      assert.doesNotMatch(hosts.b.logTail(100), /applying on_lockfailure/, 'a migrating VM has not lost a lease: A still holds it until the switch');
    } finally {
      process.kill(hosts.a.pid as number, 'SIGCONT');
    }
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    await backToA();
  });

  it('destination in Prepare whose source stays silent: kept, then discarded after the orphan timeout', async () => {
    const migrating = (await migratingToB('--live', '--persistent', '--undefinesource', '--bandwidth', '8', '--policy', 'manual')).done;
    // The source host goes silent for good (its ferryd dies and stays down) ...
    await crash(hosts.a);
    await migrating;
    // ... and the destination's ferryd restarts while its incoming QEMU waits in Prepare.
    const incoming = qemus(hosts.b);
    assert.equal(incoming.length, 1);
    assert.equal(dst(rig.storeB)?.phase, 'Prepare');
    const from = statSync(hosts.b.logFile).size;
    const crashedAt = Date.now();
    await crash(hosts.b);
    await hosts.b.start();
    // B asks the silent source, keeps the incoming VM, and says until when.
    const kept = await waitLogLine(hosts.b, from, 'the source does not answer; the incoming domain is kept until');
    assert.deepEqual(qemus(hosts.b), incoming, 'kept while the timeout runs');
    const keepUntil = Date.parse(String(kept.keepUntil));
    const silentSince = Date.parse(String(kept.silentSince));
    assert.ok(silentSince > crashedAt, 'the timeout counts from the first question the restarted B left unanswered');
    assert.equal(keepUntil - silentSince, ORPHAN_MS);
    const rec = dst(rig.storeB) as StoredMigration;
    await eventually(() => qemus(hosts.b).length === 0, 'B discarded the orphaned incoming QEMU', ORPHAN_MS + 30_000);
    const log = rig.storeB.phaseLog(rec.id, 'destination');
    assert.deepEqual(
      log.map((p) => p.phase),
      ['Prepare', 'Cancelled'],
    );
    assert.ok((log[1]?.at ?? 0) >= keepUntil, 'not before the orphan timeout');
    assert.match(dst(rig.storeB)?.error ?? '', /the source stayed silent/);
    // The source comes back and rolls back: the VM runs on A again.
    await hosts.a.start();
    await assertOnlyOn(hosts.a, /^running/);
  });
});
