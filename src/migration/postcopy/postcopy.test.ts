import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationCapabilities, QemuMigrationInfo } from '../../qemu/migration-monitor.js';
import { agreePreempt, withPostcopyCapabilities } from './preempt.js';
import { PostcopyRecovery } from './recovery.js';
import { PostcopyGuard } from './safety.js';

const log = pino({ level: 'silent' });

/** A clock the test moves. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('PostcopyGuard (the checks before the switch)', () => {
  const caps = (c: MigrationCapabilities) => ({ queryCapabilities: async () => c });
  const ok = { 'postcopy-ram': true, 'return-path': true };

  it('lets the switch go when the return path is on and the destination receives', async () => {
    const g = new PostcopyGuard({ mm: caps(ok), domain: 'd', now: clock().now, askDestination: async () => ({ phase: 'Prepare', incoming: 'active' }) });
    await g.check();
  });

  it('refuses with MIG_POSTCOPY_UNSAFE: the return path off, a silent destination, a destination not receiving', async () => {
    const cases: Array<[MigrationCapabilities, () => Promise<{ phase: string; incoming?: string | null }>, RegExp]> = [
      [{ 'postcopy-ram': true, 'return-path': false }, async () => ({ phase: 'Prepare', incoming: 'active' }), /return path .* is off/],
      [ok, async () => Promise.reject(new Error('timed out after 5000 ms')), /the destination does not answer \(timed out/],
      [ok, async () => ({ phase: 'Prepare', incoming: 'failed' }), /not receiving \(its migration is 'failed'\)/],
      [ok, async () => ({ phase: 'Cancelled', incoming: null }), /side of the migration is Cancelled/],
    ];
    for (const [c, ask, why] of cases) {
      const g = new PostcopyGuard({ mm: caps(c), domain: 'd', now: clock().now, askDestination: ask });
      await assert.rejects(g.check(), (e: unknown) => e instanceof FerryError && e.code === 'MIG_POSTCOPY_UNSAFE' && why.test(e.message));
    }
  });

  it('without --postcopy: the refusal migrate-postcopy always had', async () => {
    const g = new PostcopyGuard({ mm: caps({}), domain: 'd', now: clock().now, askDestination: async () => ({ phase: 'Prepare', incoming: 'active' }) });
    await assert.rejects(g.check(), (e: unknown) => e instanceof FerryError && e.code === 'OPERATION_INVALID');
  });

  it('reuses an answer for 2 s (the follow loop asks at each look), asks again when told fresh or later', async () => {
    const c = clock();
    let asked = 0;
    const g = new PostcopyGuard({ mm: caps(ok), domain: 'd', now: c.now, askDestination: async () => (asked++, { phase: 'Prepare', incoming: 'active' }) });
    await g.check();
    await g.check();
    assert.equal(asked, 1);
    await g.check({ fresh: true });
    assert.equal(asked, 2);
    c.advance(2000);
    await g.check();
    assert.equal(asked, 3);
  });
});

describe('postcopy-preempt agreement', () => {
  const has = (yes: boolean) => ({ queryCapabilities: async (): Promise<MigrationCapabilities> => (yes ? { 'postcopy-preempt': false } : {}) });
  it('is on only when post-copy is, the source offered it and this QEMU has it', async () => {
    assert.deepEqual(await agreePreempt(has(true), true, true), { agreed: true, available: true });
    assert.deepEqual(await agreePreempt(has(false), true, true), { agreed: false, available: false }, 'a destination QEMU without it (7.2)');
    assert.deepEqual(await agreePreempt(has(true), false, true), { agreed: false, available: true }, 'a source that did not offer it');
    assert.deepEqual(await agreePreempt(has(true), true, false), { agreed: false, available: true }, 'no post-copy');
  });
  it('post-copy gets the return path and preempt when agreed; a QEMU that has preempt is always told (QEMU keeps capabilities between migrations)', () => {
    const both = { agreed: true, available: true };
    assert.deepEqual(withPostcopyCapabilities({ 'postcopy-ram': true }, both), { 'postcopy-ram': true, 'return-path': true, 'postcopy-preempt': true });
    assert.deepEqual(withPostcopyCapabilities({ 'postcopy-ram': true }, { agreed: false, available: true }), {
      'postcopy-ram': true,
      'return-path': true,
      'postcopy-preempt': false,
    });
    assert.deepEqual(withPostcopyCapabilities({ 'postcopy-ram': true }, { agreed: false, available: false }), { 'postcopy-ram': true, 'return-path': true });
    // A VM that arrived by post-copy has preempt on: a pre-copy migration turns it off with postcopy-ram, or QEMU refuses.
    assert.deepEqual(withPostcopyCapabilities({ 'postcopy-ram': false, multifd: true }, both), {
      'postcopy-ram': false,
      multifd: true,
      'return-path': false,
      'postcopy-preempt': false,
    });
    assert.deepEqual(withPostcopyCapabilities({ multifd: true }, { agreed: false, available: false }), { multifd: true, 'return-path': false });
  });
});

/** A source QEMU in post-copy whose statuses the test scripts: each `migrate resume` plays the next outcome. */
function pausedQemu(outcomes: string[][]) {
  let status = 'postcopy-paused';
  let script: string[] = [];
  const resumed: string[] = [];
  let paused = 0;
  return {
    resumed,
    get paused() {
      return paused;
    },
    mm: {
      query: async (): Promise<QemuMigrationInfo> => {
        status = script.shift() ?? status;
        return { status };
      },
      resume: async (uri: string) => {
        resumed.push(uri);
        script = [...(outcomes.shift() ?? ['postcopy-paused'])];
      },
      pause: async () => {
        paused++;
        status = 'postcopy-paused';
        script = [];
      },
    },
  };
}

describe('PostcopyRecovery (a broken post-copy connection)', () => {
  const where = async () => ({ port: 49200 });

  it('reconnects to the fresh port the destination listens on, by itself, and starts counting again after a recovery', async () => {
    const q = pausedQemu([['postcopy-recover-setup', 'postcopy-recover', 'postcopy-active']]);
    const c = clock();
    const r = new PostcopyRecovery({ mm: q.mm, askDestination: where, targetHost: '10.0.0.2', domain: 'd', attempts: 3, log, now: c.now });
    const note = await r.onPaused({ status: 'postcopy-paused' });
    assert.deepEqual(q.resumed, ['tcp:10.0.0.2:49200']);
    assert.equal(r.recovered, 1);
    assert.match(note, /automatic attempts 1 of 3/);
    r.onRunning();
    assert.match(await r.onPaused({ status: 'postcopy-recover' }), /automatic attempts 0 of 3/, 'no attempt while QEMU is recovering');
  });

  it('stops after the bounded attempts (with a growing pause between them) and then waits to be asked', async () => {
    const q = pausedQemu([
      ['postcopy-recover-setup', 'postcopy-paused'],
      ['postcopy-recover-setup', 'postcopy-paused'],
    ]);
    const c = clock();
    const r = new PostcopyRecovery({ mm: q.mm, askDestination: where, targetHost: 'h', domain: 'd', attempts: 2, log, now: c.now });
    await r.onPaused({ status: 'postcopy-paused' });
    assert.equal(q.resumed.length, 1);
    c.advance(500);
    await r.onPaused({ status: 'postcopy-paused' });
    assert.equal(q.resumed.length, 1, 'not before the pause is over');
    c.advance(600);
    await r.onPaused({ status: 'postcopy-paused' });
    assert.equal(q.resumed.length, 2);
    c.advance(60_000);
    const note = await r.onPaused({ status: 'postcopy-paused' });
    assert.equal(q.resumed.length, 2, 'no third automatic attempt');
    assert.match(note, /automatic attempts 2 of 2; last attempt: .*; resume with ferry migrate --postcopy-resume/);
  });

  it('with attempts 0 only migrate --postcopy-resume reconnects; it reports a failed attempt and refuses a running post-copy', async () => {
    const q = pausedQemu([
      ['postcopy-recover-setup', 'postcopy-paused'],
      ['postcopy-recover', 'postcopy-active'],
    ]);
    const c = clock();
    const r = new PostcopyRecovery({ mm: q.mm, askDestination: where, targetHost: 'h', domain: 'd', attempts: 0, log, now: c.now });
    assert.match(await r.onPaused({ status: 'postcopy-paused' }), /automatic recovery off/);
    assert.equal(q.resumed.length, 0);
    await assert.rejects(
      r.resumeNow(),
      (e: unknown) => e instanceof FerryError && e.code === 'MIG_POSTCOPY_RECOVER_FAILED' && /both sides stay paused/.test(e.message),
    );
    await r.resumeNow();
    assert.equal(r.recovered, 1);
    await assert.rejects(r.resumeNow(), /has not failed \(postcopy-active\)/);
  });

  it('a destination that cannot listen again fails the attempt without touching the source QEMU', async () => {
    const q = pausedQemu([]);
    const r = new PostcopyRecovery({
      mm: q.mm,
      askDestination: async () => Promise.reject(new Error('connect ECONNREFUSED')),
      targetHost: 'h',
      domain: 'd',
      attempts: 0,
      log,
      now: clock().now,
    });
    await assert.rejects(r.resumeNow(), /the destination cannot listen again: connect ECONNREFUSED/);
    assert.equal(q.resumed.length, 0);
  });

  it('an attempt stuck in the recover states is broken off (migrate-pause) and counts as failed', async () => {
    const q = pausedQemu([['postcopy-recover']]);
    const c = clock();
    const mm = { ...q.mm, query: async () => (c.advance(10_000), q.mm.query()) };
    const r = new PostcopyRecovery({ mm, askDestination: where, targetHost: 'h', domain: 'd', attempts: 0, log, now: c.now, attemptMs: 20_000 });
    await assert.rejects(r.resumeNow(), /no reconnection within 20 s/);
    assert.equal(q.paused, 1);
  });

  it("a destination whose QEMU exited ends the waiting: the attempt's MIG_DEST_CRASHED is thrown, then at every later look", async () => {
    const q = pausedQemu([]);
    const gone = new FerryError('MIG_DEST_CRASHED', "operation failed: the incoming QEMU of 'd' is not running here: it exited during post-copy");
    const r = new PostcopyRecovery({
      mm: q.mm,
      askDestination: async () => Promise.reject(gone),
      targetHost: 'h',
      domain: 'd',
      attempts: 3,
      log,
      now: clock().now,
    });
    await assert.rejects(r.onPaused({ status: 'postcopy-paused' }), (e: unknown) => e === gone);
    await assert.rejects(r.onPaused({ status: 'postcopy-paused' }), (e: unknown) => e === gone, 'not an attempt counted as failed and retried');
    await assert.rejects(r.resumeNow(), (e: unknown) => e === gone);
    assert.equal(q.resumed.length, 0, 'the source QEMU is never told to reconnect');
  });

  it('once attempts are used up (or off), asks every 5 s whether the destination still has the guest; unreachable is not gone', async () => {
    const q = pausedQemu([]);
    const c = clock();
    const answers: Array<() => Promise<FerryError | undefined>> = [
      async () => undefined,
      async () => Promise.reject(new Error('connect ECONNREFUSED')),
      async () => new FerryError('MIG_DEST_CRASHED', "the destination reports domain 'd' shutoff"),
    ];
    let asked = 0;
    const r = new PostcopyRecovery({
      mm: q.mm,
      askDestination: where,
      targetHost: 'h',
      domain: 'd',
      attempts: 0,
      log,
      now: c.now,
      destinationGone: () => (asked++, answers.shift()!()),
    });
    assert.match(await r.onPaused({ status: 'postcopy-paused' }), /automatic recovery off/);
    c.advance(1000);
    await r.onPaused({ status: 'postcopy-paused' });
    assert.equal(asked, 1, 'not before 5 s');
    c.advance(5000);
    assert.match(await r.onPaused({ status: 'postcopy-paused' }), /automatic recovery off/, 'an unreachable destination leaves both sides waiting');
    c.advance(5000);
    await assert.rejects(r.onPaused({ status: 'postcopy-paused' }), (e: unknown) => e instanceof FerryError && e.code === 'MIG_DEST_CRASHED');
    assert.equal(asked, 3);
  });
});
