import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import type { MigrationTuning } from '../options.js';
import type { PolicyPlan } from './policy-plan.js';

/** The options QEMU is started with under a policy: what was asked, plus what the plan's start configuration turns on. */
export function startOptions(o: MigrationOptions, plan: PolicyPlan): MigrationOptions {
  const s = plan.start;
  return {
    ...o,
    postcopy: o.postcopy || s.postcopyRam,
    autoConverge: o.autoConverge || s.autoConverge,
    ...(s.compression ? { compressed: true, compMethods: ['zstd'], parallel: true } : {}),
  };
}

/** The plan's part of the tuning: its downtime ramp (from the first step) and the capabilities the options cannot say. */
export function applyPlanToTuning(t: MigrationTuning, plan: PolicyPlan): MigrationTuning {
  const capabilities = plan.start.dirtyLimit ? { ...t.capabilities, 'dirty-limit': true } : t.capabilities;
  if (plan.policy === 'manual' || !plan.downtimeSteps) return { ...t, capabilities };
  return {
    ...t,
    capabilities,
    sourceParameters: { ...t.sourceParameters, 'downtime-limit': plan.downtimeSteps[0] },
    downtimeSteps: plan.downtimeSteps,
  };
}
