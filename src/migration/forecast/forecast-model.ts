import type { ForecastInputs, MigrationForecast } from '../../shared/migration-forecast.js';
import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import { predictPostcopy, predictPrecopy, type PrecopyInputs } from './precopy-model.js';

/** What of the options changes the arithmetic. */
export interface ForecastShape {
  /** The guest runs during the copy (--live); paused, it dirties nothing and the whole copy is downtime. */
  live: boolean;
  /** --timeout: the prediction stops there (QEMU is then aborted, paused or switched to post-copy). */
  deadlineSeconds?: number;
  /** --auto-converge: QEMU throttles the vCPUs from about the third pass, initial% then +increment% a pass. */
  autoConverge?: { initial: number; increment: number };
  /** --postcopy: when the switch to post-copy would happen, in passes. */
  postcopyAfterPasses?: number;
}

/** The shape of a migration from its options (QEMU's auto-converge defaults: 20 % then +10 %). */
export function forecastShape(o: MigrationOptions): ForecastShape {
  return {
    live: o.live,
    ...(o.timeout !== undefined ? { deadlineSeconds: o.timeout } : {}),
    ...(o.autoConverge ? { autoConverge: { initial: o.autoConvergeInitial ?? 20, increment: o.autoConvergeIncrement ?? 10 } } : {}),
    ...(o.postcopy ? { postcopyAfterPasses: 1 } : {}),
  };
}

/**
 * The forecast from its inputs: predictPrecopy over the domain's downtime
 * ramp, and predictPostcopy with --postcopy. Pure: the numbers printed by
 * migrate-check come from here and nothing else.
 */
export function forecastFromInputs(inputs: ForecastInputs, shape: ForecastShape): Omit<MigrationForecast, 'at' | 'gatherMs'> {
  const model: PrecopyInputs = {
    firstPassBytes: Math.max(1, inputs.firstPassBytes),
    dirtyBytesPerSec: shape.live ? inputs.dirtyBytesPerSec : 0,
    workingSetBytes: inputs.workingSetBytes,
    linkBytesPerSec: inputs.linkBytesPerSec,
    downtimeLimitMs: inputs.downtimeLimitMs,
    ...(shape.autoConverge ? { dirtyFactor: throttleFactors(shape.autoConverge) } : {}),
    ...(shape.deadlineSeconds !== undefined ? { deadlineSeconds: shape.deadlineSeconds } : {}),
  };
  const pre = predictPrecopy(model);
  // QEMU's setup (channels, dirty bitmap) comes before the first byte; the model's clock starts at that byte.
  const setup = inputs.setupSeconds ?? 0;
  const out: Omit<MigrationForecast, 'at' | 'gatherMs'> = {
    inputs,
    converges: pre.converges,
    passes: pre.passes.length,
    totalSeconds: setup + pre.totalSeconds,
    sentBytes: pre.sentBytes,
    passDetail: pre.passes.map((p) => ({ ...p })),
  };
  if (pre.firstStall !== undefined) out.firstStall = pre.firstStall;
  // Paused for the copy, the guest is down from the start to the end.
  if (pre.downtimeMs !== undefined) out.downtimeMs = shape.live ? pre.downtimeMs : pre.totalSeconds * 1000;
  if (shape.postcopyAfterPasses !== undefined && shape.live) {
    const post = predictPostcopy(model, shape.postcopyAfterPasses, inputs.postcopyLinkBytesPerSec);
    out.postcopy = { switchAtSeconds: setup + post.switchAt, totalSeconds: setup + post.totalSeconds, postcopyBytes: post.postcopyBytes };
  }
  return out;
}

/**
 * The dirty rate's factor pass by pass under auto-converge: QEMU throttles
 * once two syncs in a row found the guest dirtying more than half of what
 * was sent, so from about the third pass, by `initial` % and then
 * `increment` % more each pass, up to 99 %.
 */
export function throttleFactors(ac: { initial: number; increment: number }): number[] {
  const factors = [1, 1];
  for (let pct = ac.initial; ; pct += ac.increment) {
    factors.push(1 - Math.min(99, pct) / 100);
    if (pct >= 99) return factors;
  }
}
