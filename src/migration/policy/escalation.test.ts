import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultMigrationOptions } from '../options.js';
import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import { Escalation, type ProgressSample } from './escalation.js';
import { planPolicy } from './policy-plan.js';

const MiB = 1024 * 1024;
const plan = (o: Partial<MigrationOptions>) => planPolicy({ options: { ...defaultMigrationOptions(), live: true, ...o }, downtimeCeilingMs: 300 });
/** Samples at the start of each pass: what the pass before left, and QEMU's expected switch-over for it. */
function passes(e: Escalation, left: number[], expectedMs: Array<number | undefined> = [], t0 = 0) {
  return left.map((mib, i) => e.observe(sample(i + 1, mib, expectedMs[i], t0 + i * 1000)));
}
const sample = (pass: number, mib: number, expectedDowntimeMs?: number, elapsedMs = 0): ProgressSample => ({
  status: 'active',
  pass,
  remaining: mib * MiB,
  elapsedMs,
  ...(expectedDowntimeMs !== undefined ? { expectedDowntimeMs } : {}),
});

describe('Escalation', () => {
  describe("auto's recheck at pass 2 (a forecast that converges only within the measurement's margin)", () => {
    // A 150 MiB/s guest whose sample read 60 MiB/s over a 100 MiB/s link: the plan keeps post-copy possible.
    const inputs = { firstPassBytes: 600 * MiB, dirtyBytesPerSec: 60 * MiB, workingSetBytes: 600 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] };
    const unsure = () => planPolicy({ options: { ...defaultMigrationOptions(), live: true }, downtimeCeilingMs: 300, host: { accel: 'tcg' }, inputs });
    // Pass 1 took 6 s (the elapsed time at pass 2's start).
    const at2 = (dirtyMiBs: number, linkMiBs: number, leftMiB: number): ProgressSample => ({
      ...sample(2, leftMiB, undefined, 6000),
      dirtyBytesPerSec: dirtyMiBs * MiB,
      linkBytesPerSec: linkMiBs * MiB,
    });

    it("QEMU's own rate over pass 1 says it does not converge: post-copy as pass 2 starts, with both rates in the reason", () => {
      const p = unsure();
      assert.equal(p.start.postcopyRam, true);
      assert.ok(p.recheckAtPass2, 'the plan rechecks');
      assert.match(p.steps.find((s) => s.when === 'pass')?.why ?? '', /^if QEMU's own dirty rate over the first pass says pre-copy does not converge/);
      const e = new Escalation(p);
      assert.equal(e.observe(sample(1, 600)), undefined);
      const act = e.observe(at2(150, 100, 590));
      assert.equal(act?.kind, 'post-copy');
      assert.match(
        e.current.reason,
        /^QEMU's own dirty rate over pass 1 \(150\.0 MiB\/s, against 100\.0 MiB\/s moved\) says pre-copy does not converge \(the forecast read 60\.0 MiB\/s\): post-copy as pass 2 starts$/,
      );
    });

    it('a pass-1 rate that converges only after many passes counts as not converging (measured: 92 MiB/s against 110 moved, 453 MiB left)', () => {
      const e = new Escalation(unsure());
      assert.equal(e.observe(sample(1, 600)), undefined);
      assert.equal(e.observe(at2(92, 110, 453))?.kind, 'post-copy');
      assert.match(
        e.current.reason,
        /says pre-copy needs \d+ more passes \(~\d+ s, longer than pass 1's 6 s\) \(the forecast read 60\.0 MiB\/s\): post-copy as pass 2 starts$/,
      );
    });

    it('a light guest keeps pre-copy even when it needs several short passes down the downtime ramp (4 MiB/s over 16, 30 MiB left)', () => {
      const e = new Escalation(unsure());
      assert.equal(e.observe(sample(1, 600)), undefined);
      assert.equal(e.observe(at2(4, 16, 30)), undefined);
      assert.equal(e.current.step, 'start');
    });

    it('a pass-1 rate that converges within a few passes changes nothing: the stalls decide, as planned', () => {
      const e = new Escalation(unsure());
      assert.equal(e.observe(sample(1, 600)), undefined);
      assert.equal(e.observe(at2(30, 100, 180)), undefined);
      assert.equal(e.current.step, 'start');
    });

    it('without the recheck in the plan (a sure forecast, or none) pass 2 is not acted on', () => {
      const e = new Escalation(plan({}));
      assert.equal(e.plan.recheckAtPass2, undefined);
      assert.equal(e.observe(sample(1, 600)), undefined);
      assert.equal(e.observe(at2(150, 100, 590)), undefined);
    });
  });

  it('a guest that converges keeps the short limit (nothing is raised)', () => {
    const e = new Escalation(plan({ policy: 'minimal-downtime' }));
    assert.deepEqual(passes(e, [256, 100, 40, 10]), [undefined, undefined, undefined, undefined]);
    assert.equal(e.downtimeLimit, 50);
    assert.equal(e.current.step, 'start');
  });

  it('one ramp step per stalled pass, then the final step (minimal-downtime: abort with MIG_NOT_CONVERGING)', () => {
    const e = new Escalation(plan({ policy: 'minimal-downtime' }));
    const acts = passes(e, [256, 30, 29, 29, 29, 29, 29]);
    assert.deepEqual(
      acts.map((a) => (a?.kind === 'downtime' ? a.ms : a?.kind)),
      [undefined, undefined, 100, 150, 200, 300, 'abort'],
    );
    const abort = acts.at(-1);
    assert.ok(abort?.kind === 'abort');
    assert.equal(abort.error.code, 'MIG_NOT_CONVERGING');
    assert.match(abort.error.message, /policy minimal-downtime: pass 6 left 29\.0 MiB, as much as pass 5 \(29\.0 MiB\).*keeps running on the source/);
    assert.equal(e.current.step, 'abort');
    assert.equal(e.observe(sample(8, 29)), undefined, 'nothing after the final step');
  });

  it('skips the rest of the ramp when even its top cannot fit the switch-over (QEMU expected-downtime)', () => {
    const e = new Escalation(plan({ policy: 'post-copy' }));
    const acts = passes(e, [512, 512, 512], [5000, 5000, 5000]);
    assert.deepEqual(
      acts.map((a) => a?.kind),
      [undefined, undefined, 'post-copy'],
    );
    assert.match(
      e.current.reason,
      /pass 2 left 512\.0 MiB, as much as pass 1 .*switch-over would take 5000 ms, more than the ramp's top \(300 ms\): switching to post-copy/,
    );
  });

  it('--max-downtime: the abort is MIG_DOWNTIME_UNREACHABLE and the ramp never passes the promise', () => {
    const e = new Escalation(plan({ policy: 'minimal-downtime', maxDowntime: 100 }));
    const acts = passes(e, [256, 64, 64, 64], [undefined, 90, 90, 90]);
    assert.deepEqual(
      acts.map((a) => (a?.kind === 'downtime' ? a.ms : a?.kind)),
      [undefined, undefined, 100, 'abort'],
    );
    const abort = acts.at(-1);
    assert.ok(abort?.kind === 'abort');
    assert.equal(abort.error.code, 'MIG_DOWNTIME_UNREACHABLE');
    assert.match(
      abort.error.message,
      /within --max-downtime 100 ms \(policy minimal-downtime: .*QEMU expects a 90 ms switch-over\); the domain keeps running on the source/,
    );
  });

  it('the deadline takes the last step at once, between passes too', () => {
    const e = new Escalation(plan({ policy: 'minimal-downtime', deadline: 3 }));
    assert.equal(e.observe(sample(1, 256, undefined, 1000)), undefined);
    const a = e.observe(sample(1, 200, undefined, 3000));
    assert.ok(a?.kind === 'abort');
    assert.match(a.error.message, /does not converge within its --deadline 3 s/);
    const pc = new Escalation(plan({ policy: 'post-copy', deadline: 3 })).observe(sample(1, 256, undefined, 3500));
    assert.equal(pc?.kind, 'post-copy');
  });

  it('suspend-if-needed pauses when the last pass fits the pause, else aborts saying how long it would be', () => {
    const fits = new Escalation(plan({ policy: 'suspend-if-needed', maxDowntime: 2000 }));
    const a = passes(fits, [256, 64, 64, 64, 64, 64, 64], [undefined, 640, 640, 640, 640, 640, 640]);
    // the ramp stops at the domain's 300 ms; 640 ms does not fit it, so the pause comes at the first stall
    assert.deepEqual(a[2], { kind: 'suspend', downtimeMs: 2000 });
    assert.deepEqual(a.slice(3), [undefined, undefined, undefined, undefined]);
    const big = new Escalation(plan({ policy: 'suspend-if-needed', maxDowntime: 200 }));
    const b = passes(big, [256, 64, 64, 64, 64, 64], [undefined, 640, 640, 640, 640, 640]);
    const last = b.find((x) => x?.kind === 'abort');
    assert.ok(last?.kind === 'abort');
    assert.match(last.error.message, /the last pass would pause the guest 640 ms, more than 200 ms/);
    assert.deepEqual(
      big.steps.map((s) => s.step),
      ['start', 'suspend', 'abort'],
    );
  });

  it('a throttle gets its passes before the next step; manual only ramps', () => {
    const p = { ...plan({ policy: 'post-copy', autoConverge: true }), escalation: ['auto-converge' as const, 'post-copy' as const] };
    const e = new Escalation(p);
    const acts = passes(e, [256, 64, 64, 64, 64, 64, 64, 64, 64, 64], [undefined, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
    assert.deepEqual(
      acts.map((a) => (a?.kind === 'downtime' ? a.ms : a?.kind)),
      [undefined, undefined, 100, 150, 200, 300, undefined, undefined, undefined, 'post-copy'],
    );
    const m = new Escalation(plan({ policy: 'manual' }));
    const ma = passes(m, [256, 64, 64, 64, 64, 64, 64, 64], [undefined, 5000, 5000, 5000, 5000, 5000, 5000, 5000]);
    assert.deepEqual(
      ma.map((a) => (a?.kind === 'downtime' ? a.ms : a?.kind)),
      [undefined, undefined, 100, 150, 200, 300, undefined, undefined],
    );
  });

  it("the forecast's post-copy pass switches as that pass starts, stall or not", () => {
    const p = { ...plan({ policy: 'post-copy' }), postcopyAtPass: 2 };
    const e = new Escalation(p);
    assert.equal(e.observe(sample(1, 1024)), undefined);
    assert.equal(e.observe(sample(2, 512))?.kind, 'post-copy');
  });
});
