import type { Logger } from 'pino';
import type { AuditStore } from '../store/audit-store.js';
import type { MigrationHistory } from '../store/migration-history.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Keeps the audit trail and the migration history for their configured
 * number of days (audit_retention_days, migration_history_retention_days;
 * 0 keeps them forever): prunes once at start, then every `intervalMs`.
 */
export class RetentionPruner {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      audit: AuditStore;
      history: MigrationHistory;
      auditDays: number;
      historyDays: number;
      log: Logger;
      intervalMs?: number;
      now?: () => number;
    },
  ) {}

  start(): void {
    this.pruneNow();
    this.timer = setInterval(() => this.pruneNow(), this.deps.intervalMs ?? 60 * 60 * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass; returns how many rows each table lost. */
  pruneNow(): { audit: number; migrations: number } {
    const now = (this.deps.now ?? Date.now)();
    const removed = { audit: 0, migrations: 0 };
    try {
      if (this.deps.auditDays > 0) removed.audit = this.deps.audit.prune(now - this.deps.auditDays * DAY_MS);
      if (this.deps.historyDays > 0) removed.migrations = this.deps.history.prune(now - this.deps.historyDays * DAY_MS);
      if (removed.audit + removed.migrations > 0) this.deps.log.info(removed, 'pruned audit records and migration history past their retention');
    } catch (err) {
      this.deps.log.error({ err }, 'could not prune the audit records and migration history');
    }
    return removed;
  }
}
