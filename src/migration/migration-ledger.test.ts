import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import type { DomainEvent } from '../shared/domain-events.js';
import type { FinishedMigration } from '../metrics/ferry-metrics.js';
import { openDatabase } from '../store/database.js';
import { MigrationStore } from '../store/migration-store.js';
import { defaultMigrationOptions } from './options.js';
import { MigrationLedger } from './migration-ledger.js';
import { RECOVERY_TRANSITIONS, TRANSITIONS } from './phases.js';

function withLedger(fn: (l: { ledger: MigrationLedger; store: MigrationStore; events: DomainEvent[]; finished: FinishedMigration[] }) => void): void {
  const dir = tempDir('ferry-ledger-');
  const db = openDatabase(`${dir.path}/state.db`);
  try {
    const store = new MigrationStore(db);
    const events: DomainEvent[] = [];
    const finished: FinishedMigration[] = [];
    const ledger = new MigrationLedger({
      migrations: store,
      publish: (e) => events.push(e),
      metrics: { migrationFinished: (m: FinishedMigration) => finished.push(m) } as never,
    });
    fn({ ledger, store, events, finished });
  } finally {
    db.close();
    dir.cleanup();
  }
}

describe('MigrationLedger', () => {
  it('transition() asserts, persists, announces each move and counts the final one, in the exact order', () => {
    withLedger(({ ledger, store, events, finished }) => {
      ledger.begin(
        { id: 'm', side: 'source', uuid: 'u', name: 'vm', phase: 'Begin', peer: 'p', options: defaultMigrationOptions(), data: { sourceWasRunning: true } },
        { announce: true },
      );
      ledger.transition('m', 'source', 'Prepare');
      ledger.transition('m', 'source', 'Perform', { data: { port: 49152 } });
      assert.throws(() => ledger.transition('m', 'source', 'Prepare'), /going backwards/);
      ledger.transition('m', 'source', 'Failed', { error: 'boom', stats: { dataProcessed: 10 } });
      assert.deepEqual(
        store.phaseLog('m', 'source').map((p) => p.phase),
        ['Begin', 'Prepare', 'Perform', 'Failed'],
      );
      assert.deepEqual(
        events.map((e) => (e.type === 'migration.phase' ? `${e.from}>${e.to}` : e.type)),
        ['Begin>Begin', 'Begin>Prepare', 'Prepare>Perform', 'Perform>Failed'],
      );
      const rec = ledger.get('m', 'source');
      assert.equal(rec?.data.port, 49152);
      assert.equal(rec?.data.sourceWasRunning, true);
      assert.equal(rec?.error, 'boom');
      assert.deepEqual(
        finished.map((f) => [f.direction, f.outcome, f.bytes]),
        [['out', 'failed', 10]],
      );
    });
  });

  it('recover() announces without counting, and refuses a move outside the recovery table', () => {
    withLedger(({ ledger, events, finished }) => {
      ledger.begin({
        id: 'd',
        side: 'destination',
        uuid: 'u',
        name: 'vm',
        phase: 'Prepare',
        peer: 'p',
        options: { ...defaultMigrationOptions(), sourceWasRunning: true },
        data: { sourceHostId: 'h' },
      });
      assert.throws(() => ledger.recover('d', 'destination', 'Succeeded'), /going backwards/);
      ledger.recover('d', 'destination', 'Failed', { error: 'the incoming QEMU is gone' });
      assert.deepEqual(
        events.map((e) => (e.type === 'migration.phase' ? `${e.side} ${e.from}>${e.to}` : e.type)),
        ['destination Prepare>Failed'],
      );
      assert.deepEqual(finished, []);
      assert.throws(() => ledger.transition('nope', 'source', 'Failed'), /not found/);
    });
  });

  it('every recovery move is one the protocol allows too', () => {
    for (const side of ['source', 'destination'] as const) {
      for (const [from, tos] of Object.entries(RECOVERY_TRANSITIONS[side])) {
        for (const to of tos ?? []) assert.ok(TRANSITIONS[side][from as keyof (typeof TRANSITIONS)['source']]?.includes(to), `${side} ${from} → ${to}`);
      }
    }
  });
});
