import { FerryError } from '../errors/ferry-error.js';
import type { FerryDatabase } from './database.js';

export type MigrationSide = 'source' | 'destination';

/**
 * One side's record of a migration: written before each phase acts, so a restarted ferryd can recover.
 * The store keeps it untyped (JSON columns); migration/migration-ledger.ts is its one typed owner.
 */
export interface MigrationRecord<D extends object = Record<string, unknown>, O extends object = Record<string, unknown>, P extends string = string> {
  id: string;
  side: MigrationSide;
  uuid: string;
  name: string;
  phase: P;
  /** Source side: the destination URI. Destination side: the source host's peer URI. */
  peer: string;
  options: O;
  /** Side-specific state (cookie, port, whether the source VM was running, ...). */
  data: D;
  error: string | null;
  stats: Record<string, unknown> | null;
  cleanupDone: boolean;
  startedAt: number;
  updatedAt: number;
}

/** A row of the migrations table, as SQLite returns it. */
export interface MigrationRow {
  id: string;
  side: string;
  uuid: string;
  name: string;
  phase: string;
  peer: string;
  options: string;
  data: string;
  error: string | null;
  stats: string | null;
  cleanup_done: number;
  started_at: number;
  updated_at: number;
}

export class MigrationStore {
  constructor(
    private readonly db: FerryDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  create(rec: Omit<MigrationRecord<object, object>, 'error' | 'stats' | 'cleanupDone' | 'startedAt' | 'updatedAt'>): MigrationRecord {
    const t = this.now();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO migrations (id, side, uuid, name, phase, peer, options, data, started_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(rec.id, rec.side, rec.uuid, rec.name, rec.phase, rec.peer, JSON.stringify(rec.options), JSON.stringify(rec.data), t, t);
      this.db.prepare('INSERT INTO migration_phases (id, side, phase, at) VALUES (?, ?, ?, ?)').run(rec.id, rec.side, rec.phase, t);
    })();
    return this.get(rec.id, rec.side) as MigrationRecord;
  }

  get(id: string, side: MigrationSide): MigrationRecord | undefined {
    const row = this.db.prepare('SELECT * FROM migrations WHERE id = ? AND side = ?').get(id, side) as MigrationRow | undefined;
    return row && toRecord(row);
  }

  /** Records a phase change (and optional data/error/stats) in one transaction. */
  setPhase(id: string, side: MigrationSide, phase: string, patch: { data?: object; error?: string; stats?: object } = {}): MigrationRecord {
    const t = this.now();
    this.db.transaction(() => {
      const cur = this.get(id, side);
      if (!cur) throw new FerryError('MIG_NOT_FOUND', `migration ${id} not found on the ${side} side`);
      this.db
        .prepare('UPDATE migrations SET phase = ?, data = ?, error = ?, stats = ?, updated_at = ? WHERE id = ? AND side = ?')
        .run(
          phase,
          JSON.stringify({ ...cur.data, ...(patch.data ?? {}) }),
          patch.error ?? cur.error,
          patch.stats ? JSON.stringify(patch.stats) : cur.stats ? JSON.stringify(cur.stats) : null,
          t,
          id,
          side,
        );
      if (phase !== cur.phase) this.db.prepare('INSERT INTO migration_phases (id, side, phase, at) VALUES (?, ?, ?, ?)').run(id, side, phase, t);
    })();
    return this.get(id, side) as MigrationRecord;
  }

  updateData(id: string, side: MigrationSide, data: object): void {
    const cur = this.get(id, side);
    if (!cur) return;
    this.db
      .prepare('UPDATE migrations SET data = ?, updated_at = ? WHERE id = ? AND side = ?')
      .run(JSON.stringify({ ...cur.data, ...data }), this.now(), id, side);
  }

  markCleanupDone(id: string, side: MigrationSide): void {
    this.db.prepare('UPDATE migrations SET cleanup_done = 1, updated_at = ? WHERE id = ? AND side = ?').run(this.now(), id, side);
  }

  /** Migrations a restarted ferryd must look at: not finished, or finished without their cleanup. */
  unfinished(): MigrationRecord[] {
    return (
      this.db
        .prepare(`SELECT * FROM migrations WHERE phase NOT IN ('Succeeded', 'Failed', 'Cancelled') OR cleanup_done = 0 ORDER BY started_at`)
        .all() as MigrationRow[]
    ).map(toRecord);
  }

  /** The latest finished migration of a domain (domjobinfo --completed). */
  lastFinished(uuid: string): MigrationRecord | undefined {
    const row = this.db
      .prepare(`SELECT * FROM migrations WHERE uuid = ? AND phase IN ('Succeeded', 'Failed', 'Cancelled') ORDER BY updated_at DESC LIMIT 1`)
      .get(uuid) as MigrationRow | undefined;
    return row && toRecord(row);
  }

  /** Phases in the order they were entered, for tests and `ferry migrate-history`. */
  phaseLog(id: string, side: MigrationSide): Array<{ phase: string; at: number }> {
    return this.db.prepare('SELECT phase, at FROM migration_phases WHERE id = ? AND side = ? ORDER BY rowid').all(id, side) as Array<{
      phase: string;
      at: number;
    }>;
  }
}

function toRecord(row: MigrationRow): MigrationRecord {
  return {
    id: row.id,
    side: row.side as MigrationSide,
    uuid: row.uuid,
    name: row.name,
    phase: row.phase,
    peer: row.peer,
    options: JSON.parse(row.options) as Record<string, unknown>,
    data: JSON.parse(row.data) as Record<string, unknown>,
    error: row.error,
    stats: row.stats ? (JSON.parse(row.stats) as Record<string, unknown>) : null,
    cleanupDone: row.cleanup_done === 1,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}
