import type { MigrationHistoryEntry } from '../../shared/api-types.js';
import type { ForecastInputs, MigrationForecast } from '../../shared/migration-forecast.js';
import type { DirtyRateMeasurement } from '../../qemu/dirty-rate.js';
import { downtimeSteps, migrationTuning, mibsToBytes, UNLIMITED_BANDWIDTH_MIBS } from '../options.js';
import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import { forecastFromInputs, forecastShape } from './forecast-model.js';
import { virshConvergenceFlags } from '../policy/policy-plan.js';
import { firstPassFromHistory, linkFromHistory, setupFromHistory } from './history-estimates.js';

/**
 * The link's rate ferry assumes when neither a --bandwidth cap nor an earlier
 * migration to the destination says better: 1 GiB/s, about a 10 Gbit/s link
 * (and what two QEMUs on one host reach over loopback with two multifd channels).
 */
export const ASSUMED_LINK_BYTES_PER_SEC = 1024 * 1024 * 1024;

export interface ForecastRequest {
  uuid: string;
  destUri: string;
  options: MigrationOptions;
  guestRamBytes: number;
  /** The domain's migrate-setspeed and migrate-setmaxdowntime values. */
  settings: { bandwidthMiBs: number; downtimeMs: number; downtimeExplicit?: boolean };
  /** Measures the guest's dirty rate (QEMU's calc-dirty-rate); undefined: not measured. */
  measureDirtyRate?: () => Promise<DirtyRateMeasurement>;
  /** The guest's resident RAM now (residentGuestBytes), if it can be read. */
  residentBytes?: () => number | undefined;
  /** This host's migration history (issue 11), for the link's rate and the last migration's memory. */
  history: () => MigrationHistoryEntry[];
  now?: () => number;
}

/**
 * What a live migration will do, before it starts: the inputs gathered (the
 * dirty rate measured while the caller's pre-flight checks and Prepare run),
 * then the pre-copy model over the domain's downtime ramp (docs/forecast.md).
 * Call it before Perform; it never throws for a failed measurement (the rate
 * is then 'not-measured', and the forecast says so).
 */
export async function forecastMigration(r: ForecastRequest): Promise<MigrationForecast> {
  const now = r.now ?? Date.now;
  const at = now();
  const o = r.options;
  const history = r.history();
  const firstPass = firstPassOf(r, history);
  const link = linkOf(r, history);
  const setupSeconds = setupFromHistory(history, r.destUri);
  const measuring =
    o.live && r.measureDirtyRate
      ? (plansFromIt(o) ? measureConfirmed(r.measureDirtyRate, link.bytesPerSec) : r.measureDirtyRate()).then(
          (m) => ({ m }),
          (err: unknown) => ({ err: err instanceof Error ? err.message : String(err) }),
        )
      : undefined;
  const inputs: ForecastInputs = {
    firstPassBytes: firstPass.bytes,
    firstPassSource: firstPass.source,
    guestRamBytes: r.guestRamBytes,
    dirtyBytesPerSec: 0,
    dirtyRateSource: o.live ? 'not-measured' : 'paused',
    workingSetBytes: firstPass.bytes,
    linkBytesPerSec: link.bytesPerSec,
    linkSource: link.source,
    ...((link.id ?? firstPass.id) ? { previousMigrationId: (link.id ?? firstPass.id) as string } : {}),
    postcopyLinkBytesPerSec: link.postcopyBytesPerSec,
    ...(link.samples !== undefined ? { linkSamples: link.samples } : {}),
    ...(setupSeconds > 0 ? { setupSeconds } : {}),
    downtimeLimitMs: downtimeRamp(o, r.settings),
  };
  const measured = measuring ? await measuring : undefined;
  if (measured && 'm' in measured) {
    inputs.dirtyBytesPerSec = measured.m.bytesPerSec;
    inputs.dirtyRateSource = 'measured';
    inputs.dirtyRate = { mode: measured.m.mode, windowMs: measured.m.windowMs, ...(measured.m.samplePages ? { samplePages: measured.m.samplePages } : {}) };
  } else if (measured) inputs.dirtyRateError = measured.err;
  return { ...forecastFromInputs(inputs, forecastShape(o)), at, gatherMs: now() - at };
}

/**
 * A reading at least this share of the link's rate can change the plan (the policy's margin, post-copy at once):
 * a second window confirms it, and the lower reading counts. A burst (a guest still booting, a job starting) lasts
 * one window; a guest that writes fast writes fast in both.
 */
export const CONFIRM_FROM_LINK_SHARE = 0.45;

/** Only auto plans from the reading (policy-plan.ts): manual (--policy manual, or virsh's flags alone) gets one window. */
function plansFromIt(o: MigrationOptions): boolean {
  return o.policy === 'auto' || (o.policy === undefined && virshConvergenceFlags(o).length === 0);
}

async function measureConfirmed(measure: () => Promise<DirtyRateMeasurement>, linkBytesPerSec: number): Promise<DirtyRateMeasurement> {
  const first = await measure();
  if (first.bytesPerSec < CONFIRM_FROM_LINK_SHARE * linkBytesPerSec) return first;
  const second = await measure().catch(() => first);
  return second.bytesPerSec < first.bytesPerSec ? second : first;
}

/** The downtime limit pass by pass, as migrationTuning sets it (ferry's ramp up to the domain's limit, or one fixed limit). */
export function downtimeRamp(o: MigrationOptions, settings: ForecastRequest['settings']): number[] {
  try {
    const t = migrationTuning(o, settings);
    return t.downtimeSteps ?? [t.sourceParameters['downtime-limit'] as number];
  } catch {
    // Options the migration refuses anyway: forecast with the ramp it would have had.
    return o.maxDowntime !== undefined ? [o.maxDowntime] : downtimeSteps(settings.downtimeMs);
  }
}

function firstPassOf(r: ForecastRequest, history: MigrationHistoryEntry[]): { bytes: number; source: ForecastInputs['firstPassSource']; id?: string } {
  const resident = r.residentBytes?.();
  if (resident !== undefined && resident > 0) return { bytes: resident, source: 'resident-memory' };
  const previous = firstPassFromHistory(history, r.uuid);
  if (previous) return { bytes: Math.min(previous.bytes, r.guestRamBytes), source: 'previous-migration', id: previous.id };
  return { bytes: r.guestRamBytes, source: 'guest-ram' };
}

function linkOf(
  r: ForecastRequest,
  history: MigrationHistoryEntry[],
): { bytesPerSec: number; postcopyBytesPerSec: number; source: ForecastInputs['linkSource']; id?: string; samples?: number } {
  const previous = linkFromHistory(history, r.destUri);
  const link = previous?.bytesPerSec ?? ASSUMED_LINK_BYTES_PER_SEC;
  // Post-copy runs uncapped unless --postcopy-bandwidth says otherwise (QEMU's max-postcopy-bandwidth).
  const postcopyCap = r.options.postcopyBandwidth ?? 0;
  const postcopy = postcopyCap > 0 ? Math.min(link, mibsToBytes(postcopyCap)) : link;
  const capMiBs = r.options.bandwidth ?? r.settings.bandwidthMiBs;
  if (capMiBs > 0 && capMiBs < UNLIMITED_BANDWIDTH_MIBS) return { bytesPerSec: mibsToBytes(capMiBs), postcopyBytesPerSec: postcopy, source: 'bandwidth-cap' };
  if (previous)
    return { bytesPerSec: previous.bytesPerSec, postcopyBytesPerSec: postcopy, source: 'previous-migration', id: previous.id, samples: previous.samples };
  return { bytesPerSec: link, postcopyBytesPerSec: postcopy, source: 'assumed' };
}
