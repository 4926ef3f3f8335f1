import type { MigrationHistoryEntry } from '../../shared/api-types.js';

/**
 * How many recent migrations to a destination the link's rate and QEMU's setup time are taken from (their median).
 * One migration says little: on an idle loopback the rate of the last one varied from 404 to 1678 MiB/s between runs
 * of the same guest (BENCHMARKS.md, "Migration forecast accuracy"); the median of five is not moved by one outlier.
 */
export const HISTORY_SAMPLES = 5;

export interface LinkEstimate {
  /** The median rate of the last HISTORY_SAMPLES uncapped, successful live migrations to the destination. */
  bytesPerSec: number;
  /** The newest of them. */
  id: string;
  /** How many it is the median of. */
  samples: number;
}

/** The rate the link carried the last uncapped, successful live migrations from this host to `destUri` at, in bytes/s. */
export function linkFromHistory(entries: MigrationHistoryEntry[], destUri: string): LinkEstimate | undefined {
  const rates: { bytesPerSec: number; id: string }[] = [];
  for (const e of liveSuccessesTo(entries, destUri)) {
    const o = e.options;
    // A capped migration measured the cap, not the link.
    if (typeof o['bandwidth'] === 'number' && o['bandwidth'] > 0) continue;
    const sent = num(e.stats, 'dataProcessed');
    const total = num(e.stats, 'qemuTotalTimeMs');
    if (sent === undefined || total === undefined) continue;
    const seconds = (total - (num(e.stats, 'setupTimeMs') ?? 0)) / 1000;
    if (seconds <= 0.05 || sent <= 0) continue;
    rates.push({ bytesPerSec: sent / seconds, id: e.id });
    if (rates.length === HISTORY_SAMPLES) break;
  }
  const newest = rates[0];
  if (!newest) return undefined;
  return { bytesPerSec: median(rates.map((r) => r.bytesPerSec)), id: newest.id, samples: rates.length };
}

/**
 * QEMU's setup time (before the first byte: the channels, the dirty bitmap) of the last successful live migrations
 * to `destUri`, their median in seconds; capped ones count (the cap does not slow the setup). 0 when none is known.
 */
export function setupFromHistory(entries: MigrationHistoryEntry[], destUri: string): number {
  const setups: number[] = [];
  for (const e of liveSuccessesTo(entries, destUri)) {
    const ms = num(e.stats, 'setupTimeMs');
    if (ms === undefined || ms < 0) continue;
    setups.push(ms / 1000);
    if (setups.length === HISTORY_SAMPLES) break;
  }
  return setups.length > 0 ? median(setups) : 0;
}

/** The normal (non-zero) bytes the last live migration of this domain sent, either way. */
export function firstPassFromHistory(entries: MigrationHistoryEntry[], uuid: string): { bytes: number; id: string } | undefined {
  for (const e of newestFirst(entries)) {
    if (e.uuid !== uuid || e.outcome !== 'Succeeded' || !e.stats) continue;
    const normal = num(e.stats, 'normalData');
    if (normal !== undefined && normal > 0) return { bytes: normal, id: e.id };
  }
  return undefined;
}

/** Successful live migrations from this host to `destUri` with QEMU's statistics, newest first (a paused or offline one says little about the link). */
function liveSuccessesTo(entries: MigrationHistoryEntry[], destUri: string): (MigrationHistoryEntry & { stats: Record<string, unknown> })[] {
  return newestFirst(entries).filter(
    (e): e is MigrationHistoryEntry & { stats: Record<string, unknown> } =>
      e.side === 'source' && e.peer === destUri && e.outcome === 'Succeeded' && !!e.stats && e.options['offline'] !== true,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function newestFirst(entries: MigrationHistoryEntry[]): MigrationHistoryEntry[] {
  return [...entries].sort((a, b) => b.startedAt - a.startedAt);
}

function num(stats: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = stats?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
