import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../../errors/ferry-error.js';
import { defaultMigrationOptions } from '../options.js';
import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import { predictPrecopy } from '../forecast/precopy-model.js';
import { DIRTY_RATE_MARGIN, planPolicy, type PolicyRequest } from './policy-plan.js';
import { applyPlanToTuning, startOptions } from './start-options.js';
import { migrationTuning } from '../options.js';

const MiB = 1024 * 1024;
const live = (o: Partial<MigrationOptions> = {}): MigrationOptions => ({ ...defaultMigrationOptions(), live: true, ...o });
const req = (o: Partial<MigrationOptions> = {}, extra: Partial<PolicyRequest> = {}): PolicyRequest => ({ options: live(o), downtimeCeilingMs: 300, ...extra });
/** The case: 512 MiB rewritten at 150 MiB/s over a 100 MiB/s cap. */
const hot = { firstPassBytes: 1024 * MiB, dirtyBytesPerSec: 150 * MiB, workingSetBytes: 512 * MiB, linkBytesPerSec: 100 * MiB, downtimeLimitMs: [300] };
const idle = { ...hot, dirtyBytesPerSec: 1 * MiB };

describe('planPolicy()', () => {
  it('auto is the default; without a forecast it starts as the options say (multifd) and ends in abort, or post-copy with --postcopy', () => {
    const p = planPolicy(req());
    assert.equal(p.policy, 'auto');
    assert.equal(p.chosenBy, 'default');
    assert.deepEqual(p.start, { postcopyRam: false, compression: false, autoConverge: false, dirtyLimit: false });
    assert.deepEqual(p.downtimeSteps, [50, 100, 150, 200, 300]);
    assert.deepEqual(p.escalation, ['abort']);
    const t = applyPlanToTuning(migrationTuning(startOptions(live(), p), { bandwidthMiBs: 100, downtimeMs: 300 }), p);
    assert.equal(t.multifd, true, 'a converging migration is no slower than before policies');
    assert.equal(t.sourceParameters['downtime-limit'], 50);
    const pc = planPolicy(req({ policy: 'auto', postcopy: true }));
    assert.deepEqual(pc.escalation, ['post-copy']);
    assert.deepEqual(
      pc.steps.map((s) => `${s.step}@${s.when}`),
      ['start@start', 'ramp@stall', 'post-copy@stall'],
    );
    const tp = applyPlanToTuning(migrationTuning(startOptions(live({ postcopy: true }), pc), { bandwidthMiBs: 100, downtimeMs: 300 }), pc);
    assert.equal(tp.capabilities['postcopy-ram'], true);
    assert.equal(tp.multifd, false);
  });

  it("virsh's convergence flags without --policy mean manual; ferryd.conf's default applies otherwise", () => {
    const manual = planPolicy(req({ timeout: 10 }, { configDefault: 'post-copy' }));
    assert.equal(manual.policy, 'manual');
    assert.equal(manual.chosenBy, 'virsh-flags');
    assert.deepEqual(manual.escalation, []);
    assert.equal(manual.start.postcopyRam, false);
    const conf = planPolicy(req({}, { configDefault: 'minimal-downtime' }));
    assert.equal(conf.policy, 'minimal-downtime');
    assert.equal(conf.chosenBy, 'config');
    const flag = planPolicy(req({ policy: 'post-copy', autoConverge: true }, { configDefault: 'minimal-downtime' }));
    assert.equal(flag.chosenBy, 'flag');
    assert.equal(flag.start.autoConverge, true, '--auto-converge adds to a policy');
  });

  it('manual keeps the fixed limit a migrate-setmaxdowntime or --max-downtime set; named policies ramp up to the promise', () => {
    assert.equal(planPolicy(req({ policy: 'manual', maxDowntime: 80 })).downtimeSteps, undefined);
    assert.equal(planPolicy(req({ policy: 'manual' }, { downtimeExplicit: true })).downtimeSteps, undefined);
    assert.deepEqual(planPolicy(req({ policy: 'minimal-downtime', maxDowntime: 120 })).downtimeSteps, [50, 100, 120]);
    assert.deepEqual(planPolicy(req({ policy: 'minimal-downtime', maxDowntime: 30 })).downtimeSteps, [30]);
  });

  it('minimal-downtime ends in abort, suspend-if-needed pauses within the promise, post-copy switches', () => {
    assert.deepEqual(planPolicy(req({ policy: 'minimal-downtime' })).escalation, ['abort']);
    const s = planPolicy(req({ policy: 'suspend-if-needed', maxDowntime: 400 }));
    assert.deepEqual(s.escalation, ['suspend', 'abort']);
    assert.equal(s.maxPauseMs, 400);
    assert.deepEqual(s.downtimeSteps, [50, 100, 150, 200, 300], "suspend-if-needed ramps to the domain's limit, the pause goes to the promise");
    assert.equal(planPolicy(req({ policy: 'suspend-if-needed' })).maxPauseMs, 5000);
    const pc = planPolicy(req({ policy: 'post-copy', deadline: 20 }));
    assert.equal(pc.start.postcopyRam, true);
    assert.deepEqual(pc.steps.at(-1), { step: 'post-copy', when: 'deadline', why: 'at --deadline 20 s, if not finished' });
  });

  it('post-copy with multifd pinned (--parallel, zstd) is refused: QEMU 10.0 cannot combine them', () => {
    assert.throws(
      () => planPolicy(req({ policy: 'post-copy', parallel: true })),
      (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT' && /cannot combine/.test(e.message),
    );
    // auto keeps multifd then, and can only abort, even with a forecast that pre-copy does not converge.
    const a = planPolicy(req({ parallel: true }, { inputs: { firstPassBytes: 1, dirtyBytesPerSec: 0, linkBytesPerSec: 1, downtimeLimitMs: [300] } }));
    assert.equal(a.start.postcopyRam, false);
    assert.deepEqual(a.escalation, ['abort']);
  });

  describe('auto with the model inputs', () => {
    it('a converging guest: plain pre-copy (multifd stays), abort if it stalls anyway', () => {
      const p = planPolicy(req({}, { inputs: idle }));
      assert.equal(p.start.postcopyRam, false);
      assert.deepEqual(p.escalation, ['abort']);
      assert.equal(p.forecast?.step, 'pre-copy');
      assert.equal(p.forecast?.converges, true);
    });

    it('a converging forecast with --postcopy: post-copy stays the last step (the forecast may be wrong), not abort', () => {
      const p = planPolicy(req({ policy: 'auto', postcopy: true }, { inputs: idle, host: { accel: 'tcg' } }));
      assert.equal(p.start.postcopyRam, true);
      assert.deepEqual(p.escalation, ['post-copy']);
      assert.equal(p.postcopyAtPass, undefined, 'no switch planned: pre-copy is expected to finish');
      assert.equal(p.steps.at(-1)?.step, 'post-copy');
    });

    it("a forecast that converges only within the measurement's margin keeps post-copy as the last step", () => {
      // 60 MiB/s measured over a 100 MiB/s link converges; at DIRTY_RATE_MARGIN times that (more than the link) it would not.
      const close = { ...hot, dirtyBytesPerSec: 60 * MiB };
      const p = planPolicy(req({}, { inputs: close, host: { accel: 'tcg' } }));
      assert.equal(p.forecast?.converges, true);
      assert.equal(p.start.postcopyRam, true, 'post-copy possible from the start');
      assert.deepEqual(p.escalation, ['post-copy']);
      assert.equal(p.postcopyAtPass, undefined, 'no switch planned: pre-copy is expected to finish');
      assert.ok(predictPrecopy({ ...close, dirtyBytesPerSec: close.dirtyBytesPerSec * DIRTY_RATE_MARGIN }).converges === false);
      // With multifd pinned (--parallel) post-copy is out: the plan stays plain, ending in abort.
      const pinned = planPolicy(req({ parallel: true }, { inputs: close, host: { accel: 'tcg' } }));
      assert.equal(pinned.start.postcopyRam, false);
      assert.deepEqual(pinned.escalation, ['abort']);
    });

    it('the capped hot guest on TCG: post-copy as the second pass starts (its first pass moves the half it does not rewrite)', () => {
      const p = planPolicy(req({}, { inputs: hot, host: { accel: 'tcg', cpuIdle: false } }));
      assert.equal(p.start.postcopyRam, true);
      assert.equal(p.postcopyAtPass, 2);
      assert.equal(p.forecast?.step, 'post-copy');
      // 1 GiB at 100 MiB/s, then the 512 MiB working set follows
      assert.ok(Math.abs((p.forecast?.totalSeconds ?? 0) - 15.36) < 1e-6);
      assert.match(p.steps.find((s) => s.when === 'pass')?.why ?? '', /post-copy after the first pass/);
    });

    it('a guest rewriting all of its memory faster than the link: its first pass would stall, so post-copy as soon as the transfer runs', () => {
      // The forecast's working set is the whole first pass (resident memory): 512 MiB, rewritten at 150 MiB/s over 100.
      const whole = { ...hot, firstPassBytes: 512 * MiB, workingSetBytes: 512 * MiB };
      const p = planPolicy(req({}, { inputs: whole, host: { accel: 'tcg', cpuIdle: false } }));
      assert.equal(p.start.postcopyRam, true);
      assert.equal(p.postcopyAtPass, 1);
      assert.equal(p.forecast?.step, 'post-copy');
      // 512 MiB at 100 MiB/s, nothing sent twice
      assert.ok(Math.abs((p.forecast?.totalSeconds ?? 0) - 5.12) < 1e-6);
      assert.match(p.steps.find((s) => s.when === 'pass')?.why ?? '', /a first pass would stall .*: post-copy as soon as the transfer runs/);
      // 88 MiB/s: the first pass leaves 88 % of it, under the 90 % that makes a stall: post-copy after it.
      const below = planPolicy(req({}, { inputs: { ...whole, dirtyBytesPerSec: 88 * MiB, deadlineSeconds: 20 }, host: { accel: 'tcg', cpuIdle: false } }));
      assert.equal(below.forecast?.step, 'post-copy');
      assert.equal(below.postcopyAtPass, 2);
    });

    it('compression first when the link is the bottleneck and the CPU is idle', () => {
      const p = planPolicy(req({}, { inputs: { ...hot, workingSetBytes: 64 * MiB }, host: { cpuIdle: true } }));
      assert.equal(p.start.compression, true);
      assert.equal(p.forecast?.step, 'compression');
      const t = migrationTuning(startOptions(live(), p), { bandwidthMiBs: 100, downtimeMs: 300 });
      assert.equal(t.sharedParameters['multifd-compression'], 'zstd');
      assert.equal(t.capabilities['postcopy-ram'], false);
    });

    it('dirty-limit on KVM with a dirty ring, auto-converge on KVM without', () => {
      const ring = planPolicy(req({}, { inputs: hot, host: { accel: 'kvm', dirtyRing: true } }));
      assert.equal(ring.start.dirtyLimit, true);
      assert.deepEqual(ring.escalation, ['dirty-limit', 'post-copy']);
      const t = applyPlanToTuning(migrationTuning(startOptions(live(), ring), { bandwidthMiBs: 100, downtimeMs: 300 }), ring);
      assert.equal(t.capabilities['dirty-limit'], true);
      assert.equal(t.capabilities['auto-converge'], false, 'QEMU refuses dirty-limit with auto-converge');
      const ac = planPolicy(req({}, { inputs: hot, host: { accel: 'kvm' } }));
      assert.equal(ac.start.autoConverge, true);
      assert.deepEqual(ac.escalation, ['auto-converge', 'post-copy']);
    });

    it('refuses before anything moves when nothing finishes (post-copy ruled out by --parallel)', () => {
      const p = planPolicy(req({ parallel: true }, { inputs: hot, host: { accel: 'tcg' } }));
      assert.match(p.refuse ?? '', /dirties 150 MiB\/s and the link carries 100 MiB\/s: pre-copy does not converge, and post-copy is ruled out by --parallel/);
      assert.equal(p.steps[1]?.step, 'abort');
    });
  });
});
