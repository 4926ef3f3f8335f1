import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { AuditStore } from '../../store/audit-store.js';
import type { MigrationHistory } from '../../store/migration-history.js';
import { closed, int, nonEmpty, optional } from '../../shared/typed-schema.js';

/** The audit trail and the migration history (docs/audit.md). */
export function auditRoutes(deps: { audit: AuditStore; history: MigrationHistory }): TypedPlugin {
  return async function auditRoutesPlugin(app) {
    app.get(
      '/audit',
      { schema: { querystring: closed({ domain: optional(nonEmpty()), since: optional(int(0)), until: optional(int(0)), limit: optional(int(1)) }) } },
      async (req) => {
        // Who did what is for the host's administrators, as libvirt's audit log is root's: not for the read-only socket anyone may open.
        if (req.ferryCaller.readonly) {
          throw new FerryError('ACCESS_DENIED', 'operation forbidden: the audit trail needs a read-write connection', {
            hint: 'Connect without -r/--readonly, as root or a member of the ferry group',
          });
        }
        return { records: deps.audit.list(req.query) };
      },
    );
    app.get(
      '/migrations/history',
      { schema: { querystring: closed({ domain: optional(nonEmpty()), id: optional(nonEmpty()), limit: optional(int(1)) }) } },
      async (req) => {
        const migrations = deps.history.list(req.query);
        if (req.query.id !== undefined && migrations.length === 0) {
          throw new FerryError('MIG_NOT_FOUND', `no migration with id '${req.query.id}' in this host's history`, {
            hint: 'List the migrations this host remembers with "ferry migrate-history" (older ones are pruned after migration_history_retention_days)',
          });
        }
        return { migrations };
      },
    );
  };
}
