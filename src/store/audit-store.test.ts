import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { RetentionPruner } from '../daemon/retention.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { AuditStore } from './audit-store.js';
import { openDatabase } from './database.js';
import { MigrationHistory } from './migration-history.js';
import { MigrationStore } from './migration-store.js';

const DAY = 86_400_000;

/** The audit table and the migration history on a real SQLite database, with their retention. */
describe('AuditStore, MigrationHistory and their retention', () => {
  it('filters, limits, and prunes each after its own number of days; unfinished migrations are never pruned', () => {
    const dir = tempDir('ferry-audit-store-');
    const db = openDatabase(`${dir.path}/state.db`);
    try {
      const audit = new AuditStore(db);
      const now = Date.parse('2026-11-30T12:00:00Z');
      const row = (at: number, domainName: string) =>
        audit.append({
          at,
          listener: 'unix',
          uid: 0,
          gid: 0,
          pid: 1,
          dn: null,
          origin: '/s',
          method: 'POST',
          route: '/v1/domains',
          operation: 'define',
          domainName,
          domainUuid: `${domainName}-uuid`,
          options: {},
          outcome: 'ok',
          errorCode: null,
          durationMs: 1,
        });
      row(now - 10 * DAY, 'a');
      row(now - 2 * DAY, 'b');
      row(now - DAY, 'a');
      assert.deepEqual(
        audit.list({ domain: 'a' }).map((r) => r.at),
        [now - 10 * DAY, now - DAY],
      );
      assert.deepEqual(
        audit.list({ domain: 'b-uuid' }).map((r) => r.domainName),
        ['b'],
      );
      assert.deepEqual(
        audit.list({ since: now - 3 * DAY, until: now - 2 * DAY }).map((r) => r.domainName),
        ['b'],
      );
      assert.deepEqual(
        audit.list({ limit: 2 }).map((r) => r.at),
        [now - 2 * DAY, now - DAY],
        'the newest two, oldest first',
      );

      let clock = now - 20 * DAY;
      const migrations = new MigrationStore(db, () => clock);
      const mig = (id: string, final: boolean) => {
        migrations.create({ id, side: 'source', uuid: 'u', name: 'vm', phase: 'Begin', peer: 'ferry+tls://b/system', options: { live: true }, data: {} });
        clock += 1000;
        migrations.setPhase(id, 'source', 'Prepare');
        if (final) {
          clock += 500;
          migrations.setPhase(id, 'source', 'Failed', { error: 'boom', stats: { dataProcessed: 4096, downtimeMs: 12 } });
          migrations.markCleanupDone(id, 'source');
        }
      };
      mig('old-finished', true);
      mig('old-running', false);
      clock = now - DAY;
      mig('recent', true);
      const history = new MigrationHistory(db);
      const old = history.list({ id: 'old-f' })[0];
      assert.equal(old?.outcome, 'Failed');
      assert.equal(old?.error, 'boom');
      assert.equal(old?.bytes, 4096);
      assert.equal(old?.downtimeMs, 12);
      assert.equal(old?.totalMs, 1500);
      assert.deepEqual(
        old?.phases.map((p) => [p.phase, p.durationMs]),
        [
          ['Begin', 1000],
          ['Prepare', 500],
          ['Failed', null],
        ],
      );

      const pruner = new RetentionPruner({ audit, history, auditDays: 5, historyDays: 7, log: pino({ level: 'silent' }), now: () => now });
      assert.deepEqual(pruner.pruneNow(), { audit: 1, migrations: 1 });
      assert.deepEqual(
        audit.list().map((r) => r.at),
        [now - 2 * DAY, now - DAY],
      );
      assert.deepEqual(
        history.list().map((m) => m.id),
        ['old-running', 'recent'],
        'a migration a restart must still recover stays',
      );
      assert.equal((db.prepare("SELECT count(*) AS n FROM migration_phases WHERE id = 'old-finished'").get() as { n: number }).n, 0);
      const forever = new RetentionPruner({ audit, history, auditDays: 0, historyDays: 0, log: pino({ level: 'silent' }), now: () => now + 1000 * DAY });
      assert.deepEqual(forever.pruneNow(), { audit: 0, migrations: 0 }, '0 days keeps everything');
    } finally {
      db.close();
      dir.cleanup();
    }
  });
});
