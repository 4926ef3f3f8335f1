import { FerryError } from '../errors/ferry-error.js';
import type { DomainState } from '../shared/domain-state.js';
import type { FerryDatabase } from './database.js';
import type { DomainSummary } from '../shared/api-types.js';

/** One domain as stored: its persistent definition and, while it runs, its live state. */
export interface DomainRecord {
  uuid: string;
  name: string;
  /** The inactive definition; null for a transient domain. */
  persistentXml: string | null;
  /** The definition QEMU runs with; null while the domain is shut off. */
  liveXml: string | null;
  domainId: number | null;
  state: DomainState;
  reason: string;
  autostart: boolean;
  pid: number | null;
  startedAt: number | null;
  /** libvirt's taint flags of this run (custom-monitor: the monitor passthrough was used). */
  taints: string[];
  createdAt: number;
  updatedAt: number;
}

interface Row {
  uuid: string;
  name: string;
  persistent_xml: string | null;
  live_xml: string | null;
  domain_id: number | null;
  state: string;
  reason: string;
  autostart: number;
  pid: number | null;
  started_at: number | null;
  taints: string;
  created_at: number;
  updated_at: number;
}

export interface RuntimeUpdate {
  liveXml: string;
  domainId: number;
  pid: number;
  state: DomainState;
  reason: string;
  startedAt: number;
}

/** Domains in SQLite. Every write is one statement or one transaction: nothing is left half-written. */
export class DomainStore {
  constructor(
    private readonly db: FerryDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  get(uuid: string): DomainRecord | undefined {
    const row = this.db.prepare('SELECT * FROM domains WHERE uuid = ?').get(uuid) as Row | undefined;
    return row && toRecord(row);
  }

  findByName(name: string): DomainRecord | undefined {
    const row = this.db.prepare('SELECT * FROM domains WHERE name = ?').get(name) as Row | undefined;
    return row && toRecord(row);
  }

  findById(id: number): DomainRecord | undefined {
    const row = this.db.prepare('SELECT * FROM domains WHERE domain_id = ?').get(id) as Row | undefined;
    return row && toRecord(row);
  }

  list(): DomainSummary[] {
    const rows = this.db
      .prepare(
        `SELECT uuid, name, domain_id, state, reason, persistent_xml IS NOT NULL AS persistent, autostart
         FROM domains ORDER BY domain_id IS NULL, domain_id, name`,
      )
      .all() as Array<Pick<Row, 'uuid' | 'name' | 'domain_id' | 'state' | 'reason' | 'autostart'> & { persistent: number }>;
    return rows.map((r) => ({
      uuid: r.uuid,
      name: r.name,
      domainId: r.domain_id,
      state: r.state as DomainState,
      reason: r.reason,
      persistent: r.persistent === 1,
      autostart: r.autostart === 1,
    }));
  }

  /** All records with a live definition: the domains a restarted ferryd must find again. */
  listActive(): DomainRecord[] {
    return (this.db.prepare('SELECT * FROM domains WHERE live_xml IS NOT NULL').all() as Row[]).map(toRecord);
  }

  /**
   * Inserts a new domain or replaces the persistent definition of an existing one
   * (same uuid). A name or uuid already used by another domain is refused.
   */
  saveDefinition(input: { uuid: string; name: string; persistentXml: string | null }): DomainRecord {
    return this.tx(() => {
      const byName = this.findByName(input.name);
      if (byName && byName.uuid !== input.uuid) {
        throw new FerryError('DOMAIN_EXISTS', `operation failed: domain '${input.name}' already exists with uuid ${byName.uuid}`);
      }
      const existing = this.get(input.uuid);
      const now = this.now();
      if (existing) {
        if (existing.name !== input.name) {
          throw new FerryError('DOMAIN_EXISTS', `operation failed: domain '${existing.name}' already exists with uuid ${input.uuid}`);
        }
        this.db.prepare('UPDATE domains SET persistent_xml = ?, updated_at = ? WHERE uuid = ?').run(input.persistentXml, now, input.uuid);
      } else {
        this.db
          .prepare(
            `INSERT INTO domains (uuid, name, persistent_xml, state, reason, created_at, updated_at)
             VALUES (?, ?, ?, 'shutoff', 'unknown', ?, ?)`,
          )
          .run(input.uuid, input.name, input.persistentXml, now, now);
      }
      return this.get(input.uuid) as DomainRecord;
    });
  }

  /** Records that QEMU runs the domain; takes the next domain id. */
  markRunning(uuid: string, update: Omit<RuntimeUpdate, 'domainId'>): number {
    return this.tx(() => {
      const id = Number((this.db.prepare("SELECT value FROM meta WHERE key = 'next_domain_id'").get() as { value: string }).value);
      this.db.prepare("UPDATE meta SET value = ? WHERE key = 'next_domain_id'").run(String(id + 1));
      const r = this.db
        .prepare(
          `UPDATE domains SET live_xml = ?, domain_id = ?, pid = ?, state = ?, reason = ?, started_at = ?, taints = '', updated_at = ?
           WHERE uuid = ?`,
        )
        .run(update.liveXml, id, update.pid, update.state, update.reason, update.startedAt, this.now(), uuid);
      if (r.changes !== 1) throw new FerryError('DOMAIN_NOT_FOUND', `Domain not found: no domain with matching uuid '${uuid}'`);
      return id;
    });
  }

  /** Adds a taint flag to a running domain; true when it is new. */
  taint(uuid: string, flag: string): boolean {
    return this.tx(() => {
      const rec = this.get(uuid);
      if (!rec || rec.liveXml === null || rec.taints.includes(flag)) return false;
      this.db.prepare('UPDATE domains SET taints = ?, updated_at = ? WHERE uuid = ?').run([...rec.taints, flag].join(','), this.now(), uuid);
      return true;
    });
  }

  setState(uuid: string, state: DomainState, reason: string): void {
    this.db.prepare('UPDATE domains SET state = ?, reason = ?, updated_at = ? WHERE uuid = ?').run(state, reason, this.now(), uuid);
  }

  setLiveXml(uuid: string, liveXml: string): void {
    this.db.prepare('UPDATE domains SET live_xml = ?, updated_at = ? WHERE uuid = ?').run(liveXml, this.now(), uuid);
  }

  /**
   * Records that the domain stopped. A transient domain disappears with its
   * process (libvirt semantics); a persistent one stays, shut off.
   */
  markStopped(uuid: string, reason: string): void {
    this.tx(() => {
      const rec = this.get(uuid);
      if (!rec) return;
      if (rec.persistentXml === null) {
        this.db.prepare('DELETE FROM domains WHERE uuid = ?').run(uuid);
        return;
      }
      this.db
        .prepare(
          `UPDATE domains SET live_xml = NULL, domain_id = NULL, pid = NULL, state = 'shutoff', reason = ?,
             started_at = NULL, taints = '', updated_at = ? WHERE uuid = ?`,
        )
        .run(reason, this.now(), uuid);
    });
  }

  /** Undefine: removes a shut-off domain, or makes a running one transient. */
  undefine(uuid: string): 'removed' | 'transient' {
    return this.tx(() => {
      const rec = this.get(uuid);
      if (!rec) throw new FerryError('DOMAIN_NOT_FOUND', `Domain not found: no domain with matching uuid '${uuid}'`);
      if (rec.liveXml === null) {
        this.db.prepare('DELETE FROM domains WHERE uuid = ?').run(uuid);
        return 'removed';
      }
      this.db.prepare('UPDATE domains SET persistent_xml = NULL, autostart = 0, updated_at = ? WHERE uuid = ?').run(this.now(), uuid);
      return 'transient';
    });
  }

  setAutostart(uuid: string, autostart: boolean): void {
    this.db.prepare('UPDATE domains SET autostart = ?, updated_at = ? WHERE uuid = ?').run(autostart ? 1 : 0, this.now(), uuid);
  }

  private tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError('STORE_FAILED', `cannot write the state database: ${(err as Error).message}`, { cause: err });
    }
  }
}

function toRecord(row: Row): DomainRecord {
  return {
    uuid: row.uuid,
    name: row.name,
    persistentXml: row.persistent_xml,
    liveXml: row.live_xml,
    domainId: row.domain_id,
    state: row.state as DomainState,
    reason: row.reason,
    autostart: row.autostart === 1,
    pid: row.pid,
    startedAt: row.started_at,
    taints: row.taints ? row.taints.split(',') : [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
