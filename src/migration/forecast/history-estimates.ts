import type { MigrationHistoryEntry } from '../../shared/api-types.js';

/** The rate the link carried the last uncapped, successful live migration from this host to `destUri` at, in bytes/s. */
export function linkFromHistory(entries: MigrationHistoryEntry[], destUri: string): { bytesPerSec: number; id: string } | undefined {
  for (const e of newestFirst(entries)) {
    if (e.side !== 'source' || e.peer !== destUri || e.outcome !== 'Succeeded' || !e.stats) continue;
    const o = e.options;
    // A capped migration measured the cap, not the link; a paused or offline one may say little about either.
    if (o['offline'] === true || (typeof o['bandwidth'] === 'number' && o['bandwidth'] > 0)) continue;
    const sent = num(e.stats, 'dataProcessed');
    const total = num(e.stats, 'qemuTotalTimeMs');
    if (sent === undefined || total === undefined) continue;
    const seconds = (total - (num(e.stats, 'setupTimeMs') ?? 0)) / 1000;
    if (seconds <= 0.05 || sent <= 0) continue;
    return { bytesPerSec: sent / seconds, id: e.id };
  }
  return undefined;
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

function newestFirst(entries: MigrationHistoryEntry[]): MigrationHistoryEntry[] {
  return [...entries].sort((a, b) => b.startedAt - a.startedAt);
}

function num(stats: Record<string, unknown>, key: string): number | undefined {
  const v = stats[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
