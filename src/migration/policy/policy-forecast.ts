/**
 * Where the forecast meets the policy: the forecast's measured inputs are
 * what the `auto` policy plans with (the start configuration can only be
 * chosen before `migrate`: QEMU 10.0 cannot add post-copy to a multifd
 * migration), and the plan is what migrate-check prints as "what the policy
 * will do and when".
 */
import type { ForecastInputs, ForecastPolicyPlan, MigrationForecast } from '../../shared/migration-forecast.js';
import type { MigrationOptions, PolicyName } from '../../shared/migration-options-schema.js';
import type { PrecopyInputs } from '../forecast/precopy-model.js';
import { planPolicy, type PolicyPlan, type PolicyRequest } from './policy-plan.js';

/** What the planner needs besides the options: ferryd.conf's default, the domain's downtime setting, the accelerator. */
export interface PolicyContext {
  configDefault?: PolicyName;
  settings: { downtimeMs: number; downtimeExplicit?: boolean };
  accel: 'kvm' | 'tcg';
}

/** The accelerator a domain of this type runs on (`<domain type="qemu">` is TCG). */
export function accelOf(domainType: string): 'kvm' | 'tcg' {
  return domainType === 'qemu' ? 'tcg' : 'kvm';
}

/** The planner's request for one live migration (a copy that is not --live pauses the guest: no policy applies). */
export function policyRequest(options: MigrationOptions, c: PolicyContext, forecast?: MigrationForecast): PolicyRequest {
  return {
    options: options.live ? options : { ...options, policy: 'manual' },
    ...(c.configDefault ? { configDefault: c.configDefault } : {}),
    downtimeCeilingMs: c.settings.downtimeMs,
    ...(c.settings.downtimeExplicit !== undefined ? { downtimeExplicit: c.settings.downtimeExplicit } : {}),
    host: { accel: c.accel },
    ...(forecast ? { inputs: precopyInputsOf(forecast.inputs) } : {}),
    ...(forecast?.inputs.setupSeconds !== undefined ? { setupSeconds: forecast.inputs.setupSeconds } : {}),
  };
}

/** The forecast with what the policy will do and when (migrate-check); without it when the options make no plan (a refused combination). */
export function withPolicy(forecast: MigrationForecast, options: MigrationOptions, c: PolicyContext): MigrationForecast {
  try {
    const plan = planPolicy(policyRequest(options, c, forecast));
    return {
      ...forecast,
      policy: forecastPolicyPlan(
        plan,
        forecast.passDetail.map((p) => p.startsAt),
      ),
    };
  } catch {
    return forecast;
  }
}

/** The model's inputs from what the forecast gathered (its sources stay in the forecast). */
export function precopyInputsOf(f: ForecastInputs): PrecopyInputs {
  return {
    firstPassBytes: f.firstPassBytes,
    dirtyBytesPerSec: f.dirtyBytesPerSec,
    workingSetBytes: f.workingSetBytes,
    linkBytesPerSec: f.linkBytesPerSec,
    downtimeLimitMs: f.downtimeLimitMs,
  };
}

/** The plan in the forecast's words: one line, then each step with when it comes (seconds into the transfer when the model says). */
export function forecastPolicyPlan(plan: PolicyPlan, passStarts: number[]): ForecastPolicyPlan {
  const at = (pass: number | undefined): number => (pass !== undefined ? (passStarts[pass - 1] ?? passStarts.at(-1) ?? 0) : 0);
  const steps = plan.steps.map((s) => ({
    when: s.when,
    atSeconds: s.when === 'deadline' ? (plan.deadlineSeconds ?? 0) : s.when === 'pass' ? at(s.pass) : 0,
    action: s.step,
    reason: s.why,
  }));
  const chosen = plan.refuse
    ? `refused: ${plan.refuse}`
    : plan.forecast
      ? `${plan.forecast.step}${plan.forecast.converges ? `, done in ~${plan.forecast.totalSeconds.toFixed(1)} s` : ', does not finish'}`
      : 'escalates as passes stall';
  return { policy: plan.policy, summary: chosen, steps };
}
