import type { FerryDatabase } from './database.js';
import type { AuditRecord } from '../shared/api-types.js';

export interface AuditFilter {
  /** A domain name or uuid. */
  domain?: string;
  since?: number;
  until?: number;
  /** The newest N records (default: all of them). */
  limit?: number;
}

interface Row {
  id: number;
  at: number;
  listener: string;
  uid: number | null;
  gid: number | null;
  pid: number | null;
  dn: string | null;
  origin: string;
  method: string;
  route: string;
  operation: string;
  domain_name: string | null;
  domain_uuid: string | null;
  options: string;
  outcome: string;
  error_code: string | null;
  duration_ms: number;
}

/** The audit table: appended to by the API's audit hook, read by `ferry audit`, pruned by retention. */
export class AuditStore {
  constructor(private readonly db: FerryDatabase) {}

  append(rec: Omit<AuditRecord, 'id'>): void {
    this.db
      .prepare(
        `INSERT INTO audit (at, listener, uid, gid, pid, dn, origin, method, route, operation, domain_name, domain_uuid, options, outcome, error_code, duration_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        rec.at,
        rec.listener,
        rec.uid,
        rec.gid,
        rec.pid,
        rec.dn,
        rec.origin,
        rec.method,
        rec.route,
        rec.operation,
        rec.domainName,
        rec.domainUuid,
        JSON.stringify(rec.options),
        rec.outcome,
        rec.errorCode,
        rec.durationMs,
      );
  }

  /** Records oldest first; with a limit, the newest `limit` of those that match. */
  list(filter: AuditFilter = {}): AuditRecord[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.domain !== undefined) {
      where.push('(domain_name = ? OR domain_uuid = ?)');
      args.push(filter.domain, filter.domain.toLowerCase());
    }
    if (filter.since !== undefined) {
      where.push('at >= ?');
      args.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('at <= ?');
      args.push(filter.until);
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC${filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : ''}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toRecord).reverse();
  }

  /** Deletes the records older than `before`; returns how many. */
  prune(before: number): number {
    return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
  }
}

function toRecord(r: Row): AuditRecord {
  return {
    id: r.id,
    at: r.at,
    listener: r.listener,
    uid: r.uid,
    gid: r.gid,
    pid: r.pid,
    dn: r.dn,
    origin: r.origin,
    method: r.method,
    route: r.route,
    operation: r.operation,
    domainName: r.domain_name,
    domainUuid: r.domain_uuid,
    options: JSON.parse(r.options) as Record<string, unknown>,
    outcome: r.outcome === 'ok' ? 'ok' : 'error',
    errorCode: r.error_code,
    durationMs: r.duration_ms,
  };
}
