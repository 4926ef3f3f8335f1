import type { FerryDatabase } from './database.js';

/** One state-changing API call (docs/audit.md): who, from where, what, and how it ended. */
export interface AuditRecord {
  id: number;
  /** When the call was answered (ms since the epoch). */
  at: number;
  /** The listener it came in on: unix, unix-ro, tls or tcp. */
  listener: string;
  /** The caller's unix uid, gid and pid (peer credentials of a unix socket connection); null on TLS/TCP. */
  uid: number | null;
  gid: number | null;
  pid: number | null;
  /** The client certificate's DN (TLS); null otherwise. */
  dn: string | null;
  /** Where from: the socket path, or the remote address and port. */
  origin: string;
  method: string;
  /** The route's pattern (/v1/domains/:ref/:action). */
  route: string;
  /** What was asked, in virsh's words where there is one (start, undefine, migrate, pool-create, ...). */
  operation: string;
  domainName: string | null;
  domainUuid: string | null;
  /** The call's options (query and body, large or secret values left out). */
  options: Record<string, unknown>;
  outcome: 'ok' | 'error';
  /** The error code of a failed call (DOMAIN_NOT_FOUND, ACCESS_DENIED, ...). */
  errorCode: string | null;
  durationMs: number;
}

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
