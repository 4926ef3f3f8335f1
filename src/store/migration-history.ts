import type { FerryDatabase } from './database.js';
import type { MigrationRow, MigrationSide } from './migration-store.js';
import type { HistoryPhase, MigrationHistoryEntry } from '../shared/api-types.js';
import type { ForecastOutcome, MigrationForecast } from '../shared/migration-forecast.js';

const FINAL = `('Succeeded', 'Failed', 'Cancelled')`;

export interface HistoryFilter {
  /** A domain name or uuid. */
  domain?: string;
  /** A migration id, or the start of one. */
  id?: string;
  limit?: number;
}

/** The columns the history reads. */
type Row = Pick<MigrationRow, 'id' | 'side' | 'uuid' | 'name' | 'phase' | 'peer' | 'options' | 'data' | 'error' | 'stats' | 'started_at'>;

/** Reads past (and running) migrations out of the migration store's tables, and prunes finished ones. */
export class MigrationHistory {
  constructor(private readonly db: FerryDatabase) {}

  list(filter: HistoryFilter = {}): MigrationHistoryEntry[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.domain !== undefined) {
      where.push('(name = ? OR uuid = ?)');
      args.push(filter.domain, filter.domain.toLowerCase());
    }
    if (filter.id !== undefined) {
      // A unique start of the id is enough, as with a git commit.
      where.push("(id = ? OR id LIKE ? ESCAPE '\\')");
      args.push(filter.id, `${filter.id.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const limit = filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const rows = this.db
      .prepare(
        `SELECT id, side, uuid, name, phase, peer, options, data, error, stats, started_at FROM migrations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, rowid DESC${limit}`,
      )
      .all(...args) as Row[];
    const phasesOf = this.db.prepare('SELECT phase, at FROM migration_phases WHERE id = ? AND side = ? ORDER BY rowid');
    return rows.reverse().map((r) => entryOf(r, phasesOf.all(r.id, r.side) as Array<{ phase: string; at: number }>));
  }

  /** Deletes finished (and cleaned up) migrations that ended before `before`, with their phase logs; returns how many. */
  prune(before: number): number {
    return this.db.transaction(() => {
      const old = `SELECT id, side FROM migrations WHERE phase IN ${FINAL} AND cleanup_done = 1 AND updated_at < ?`;
      this.db.prepare(`DELETE FROM migration_phases WHERE (id, side) IN (${old})`).run(before);
      return this.db.prepare(`DELETE FROM migrations WHERE phase IN ${FINAL} AND cleanup_done = 1 AND updated_at < ?`).run(before).changes;
    })();
  }
}

function entryOf(r: Row, log: Array<{ phase: string; at: number }>): MigrationHistoryEntry {
  const stats = r.stats ? (JSON.parse(r.stats) as Record<string, unknown>) : null;
  const num = (k: string): number | null => (stats && typeof stats[k] === 'number' ? (stats[k] as number) : null);
  const final = ['Succeeded', 'Failed', 'Cancelled'].includes(r.phase);
  const phases: HistoryPhase[] = log.map((p, i) => {
    const next = log[i + 1];
    return { phase: p.phase, at: p.at, durationMs: next ? next.at - p.at : null };
  });
  const endedAt = log.length > 0 ? (log[log.length - 1] as { at: number }).at : r.started_at;
  return {
    id: r.id,
    side: r.side as MigrationSide,
    name: r.name,
    uuid: r.uuid,
    peer: r.peer,
    outcome: r.phase,
    error: r.error,
    options: JSON.parse(r.options) as Record<string, unknown>,
    startedAt: r.started_at,
    endedAt,
    totalMs: (final ? endedAt : Date.now()) - r.started_at,
    bytes: num('dataProcessed'),
    diskBytes: num('diskProcessed'),
    downtimeMs: num('downtimeMs'),
    phases,
    stats,
    forecast: final ? forecastOutcome(r.phase, JSON.parse(r.data) as Record<string, unknown>, stats) : null,
  };
}

/** The forecast recorded before Perform (SourceData.forecast) beside what QEMU reported at the end. */
function forecastOutcome(outcome: string, data: Record<string, unknown>, stats: Record<string, unknown> | null): ForecastOutcome | null {
  const f = data['forecast'] as MigrationForecast | undefined;
  if (!f || typeof f !== 'object' || typeof f.totalSeconds !== 'number') return null;
  const num = (k: string): number | undefined => (stats && typeof stats[k] === 'number' ? (stats[k] as number) : undefined);
  const qemuMs = num('qemuTotalTimeMs');
  // dirty-sync-count counts a sync at setup, one at the end of each pass, and one at the switch-over.
  const syncs = num('iteration');
  const passes = syncs === undefined ? undefined : Math.max(outcome === 'Succeeded' ? 1 : 0, syncs - (outcome === 'Succeeded' ? 2 : 1));
  const downtimeMs = num('downtimeMs');
  return {
    predicted: {
      converges: f.converges,
      passes: f.passes,
      totalSeconds: f.totalSeconds,
      ...(f.downtimeMs !== undefined ? { downtimeMs: f.downtimeMs } : {}),
      inputs: f.inputs,
    },
    actual: {
      converged: outcome === 'Succeeded',
      ...(passes !== undefined ? { passes } : {}),
      ...(qemuMs !== undefined ? { totalSeconds: qemuMs / 1000 } : {}),
      ...(downtimeMs !== undefined ? { downtimeMs } : {}),
      ...(num('normalData') !== undefined ? { normalBytes: num('normalData') as number } : {}),
      ...(num('dataProcessed') !== undefined ? { sentBytes: num('dataProcessed') as number } : {}),
    },
  };
}
