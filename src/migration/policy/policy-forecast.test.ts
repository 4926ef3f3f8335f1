import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultMigrationOptions } from '../options.js';
import type { MigrationForecast } from '../../shared/migration-forecast.js';
import { forecastPolicyPlan, policyRequest, withPolicy } from './policy-forecast.js';
import { planPolicy } from './policy-plan.js';

const MiB = 1024 * 1024;
const forecast = (dirtyMiBs: number, workingSetMiB = 512): MigrationForecast => ({
  inputs: {
    firstPassBytes: 512 * MiB,
    firstPassSource: 'resident-memory',
    guestRamBytes: 1024 * MiB,
    dirtyBytesPerSec: dirtyMiBs * MiB,
    dirtyRateSource: 'measured',
    workingSetBytes: workingSetMiB * MiB,
    linkBytesPerSec: 100 * MiB,
    linkSource: 'bandwidth-cap',
    postcopyLinkBytesPerSec: 1024 * MiB,
    downtimeLimitMs: [50, 100, 150, 200, 300],
  },
  converges: false,
  passes: 3,
  totalSeconds: 15,
  sentBytes: 1536 * MiB,
  passDetail: [0, 5.12, 10.24].map((startsAt, i) => ({
    pass: i + 1,
    startsAt,
    seconds: 5.12,
    sentBytes: 512 * MiB,
    remainingBytes: 512 * MiB,
    downtimeLimitMs: 50,
    stalled: i > 0,
  })),
  at: 0,
  gatherMs: 120,
});
const context = { settings: { downtimeMs: 300 }, accel: 'tcg' as const };
const live = { ...defaultMigrationOptions(), live: true };

describe('the forecast and the policy', () => {
  it("auto plans with the forecast's inputs: post-copy from the start when pre-copy will not converge, multifd when it will", () => {
    const busy = planPolicy(policyRequest(live, context, forecast(150)));
    assert.equal(busy.policy, 'auto');
    assert.equal(busy.start.postcopyRam, true);
    assert.equal(busy.postcopyAtPass, 1, 'a first pass would stall: post-copy at once');
    assert.equal(planPolicy(policyRequest(live, context, forecast(150, 256))).postcopyAtPass, 2, 'half of memory rewritten: after pass 1');
    const idle = planPolicy(policyRequest(live, context, forecast(1)));
    assert.equal(idle.start.postcopyRam, false);
    assert.equal(idle.forecast?.step, 'pre-copy');
  });

  it('without --live no policy applies (manual), whatever the default', () => {
    assert.equal(planPolicy(policyRequest({ ...live, live: false }, { ...context, configDefault: 'post-copy' })).policy, 'manual');
  });

  it("migrate-check's plan: the policy's choice in one line, each step with when it comes", () => {
    const f = withPolicy(forecast(150), live, context);
    assert.equal(f.policy?.policy, 'auto');
    assert.match(f.policy?.summary ?? '', /^post-copy, done in ~\d+\.\d s$/);
    const switchStep = f.policy?.steps.find((s) => s.action === 'post-copy');
    assert.equal(switchStep?.atSeconds, 0, 'post-copy as the transfer starts');
    const warm = withPolicy(forecast(150, 256), live, context).policy?.steps.find((s) => s.action === 'post-copy');
    assert.equal(warm?.atSeconds, 5.12, 'post-copy as pass 2 starts');
    const plan = planPolicy(policyRequest({ ...live, policy: 'minimal-downtime' }, context, forecast(150)));
    assert.match(forecastPolicyPlan(plan, [0]).summary, /escalates|pre-copy/);
  });

  it('a combination the planner refuses leaves the forecast without a plan', () => {
    const f = withPolicy(forecast(150), { ...live, policy: 'post-copy', parallel: true }, context);
    assert.equal(f.policy, undefined);
  });
});
