import Database from 'better-sqlite3';

/** One side's migration record as the store holds it (read from outside the daemon). */
export interface StoredMigration {
  id: string;
  side: 'source' | 'destination';
  uuid: string;
  phase: string;
  data: Record<string, unknown>;
  error: string | null;
  cleanupDone: boolean;
  startedAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  side: 'source' | 'destination';
  uuid: string;
  phase: string;
  data: string;
  error: string | null;
  cleanup_done: number;
  started_at: number;
  updated_at: number;
}

/**
 * A read-only view of a ferryd's SQLite store (STATE/ferry.db), for tests
 * that act at an exact migration phase: ferryd writes each phase before it
 * acts on it, so a test that sees the phase here can stop the daemon there.
 */
export class StoreWatch {
  private readonly db: Database.Database;

  constructor(stateDir: string) {
    this.db = new Database(`${stateDir}/ferry.db`, { readonly: true, fileMustExist: true });
  }

  /** The newest migration of a domain on one side, if any. */
  latest(uuid: string, side: 'source' | 'destination'): StoredMigration | undefined {
    const row = this.db.prepare('SELECT * FROM migrations WHERE uuid = ? AND side = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(uuid, side) as
      Row | undefined;
    return (
      row && {
        id: row.id,
        side: row.side,
        uuid: row.uuid,
        phase: row.phase,
        data: JSON.parse(row.data) as Record<string, unknown>,
        error: row.error,
        cleanupDone: row.cleanup_done === 1,
        startedAt: row.started_at,
        updatedAt: row.updated_at,
      }
    );
  }

  /** The phases one side entered, in order, with the time ferryd recorded each. */
  phaseLog(id: string, side: 'source' | 'destination'): Array<{ phase: string; at: number }> {
    return this.db.prepare('SELECT phase, at FROM migration_phases WHERE id = ? AND side = ? ORDER BY rowid').all(id, side) as Array<{
      phase: string;
      at: number;
    }>;
  }

  /**
   * Polls the store (every millisecond) until `fn` returns a value; the
   * caller acts on it at once, before the daemon moves on.
   */
  async waitFor<T>(fn: (w: this) => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = fn(this);
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting in the store for: ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    this.db.close();
  }
}
