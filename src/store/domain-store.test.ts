import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { openDatabase, type FerryDatabase } from './database.js';
import { DomainStore } from './domain-store.js';

const U1 = '00000000-0000-0000-0000-000000000001';
const U2 = '00000000-0000-0000-0000-000000000002';

describe('DomainStore (real SQLite)', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: FerryDatabase;
  let store: DomainStore;

  beforeEach(() => {
    dir = tempDir('ferry-store-');
    db = openDatabase(`${dir.path}/state.db`);
    store = new DomainStore(db);
  });
  afterEach(() => {
    db.close();
    dir.cleanup();
  });

  it('openDatabase() uses WAL and is idempotent', () => {
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const again = openDatabase(`${dir.path}/state.db`);
    assert.equal(again.pragma('user_version', { simple: true }), 7);
    again.close();
    // It holds secret values: root's alone, and so are its WAL files.
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) assert.equal(statSync(`${dir.path}/${f}`).mode & 0o777, 0o600, f);
  });

  it('saveDefinition() refuses a duplicate name with another uuid, and a rename of the same uuid', () => {
    store.saveDefinition({ uuid: U1, name: 'a', persistentXml: '<a/>' });
    assert.throws(
      () => store.saveDefinition({ uuid: U2, name: 'a', persistentXml: '<b/>' }),
      (e: unknown) => e instanceof FerryError && e.code === 'DOMAIN_EXISTS' && /already exists with uuid 00000000-0000-0000-0000-000000000001/.test(e.message),
    );
    assert.throws(
      () => store.saveDefinition({ uuid: U1, name: 'b', persistentXml: '<b/>' }),
      (e: unknown) => e instanceof FerryError && e.code === 'DOMAIN_EXISTS',
    );
    store.saveDefinition({ uuid: U1, name: 'a', persistentXml: '<a2/>' });
    assert.equal(store.get(U1)?.persistentXml, '<a2/>');
    assert.equal(store.list().length, 1);
  });

  it('markRunning() hands out increasing domain ids, markStopped() clears them', () => {
    store.saveDefinition({ uuid: U1, name: 'a', persistentXml: '<a/>' });
    store.saveDefinition({ uuid: U2, name: 'b', persistentXml: '<b/>' });
    const id1 = store.markRunning(U1, { liveXml: '<l/>', pid: 10, state: 'running', reason: 'booted', startedAt: 1 });
    const id2 = store.markRunning(U2, { liveXml: '<l/>', pid: 11, state: 'running', reason: 'booted', startedAt: 1 });
    assert.equal(id2, id1 + 1);
    assert.equal(store.findById(id1)?.name, 'a');
    store.markStopped(U1, 'shutdown');
    const a = store.get(U1);
    assert.deepEqual([a?.state, a?.reason, a?.domainId, a?.liveXml], ['shutoff', 'shutdown', null, null]);
    assert.deepEqual(
      store.list().map((d) => d.name),
      ['b', 'a'],
    );
  });

  it('taint() marks a running domain once; the next run starts clean', () => {
    store.saveDefinition({ uuid: U1, name: 'a', persistentXml: '<p/>' });
    assert.equal(store.taint(U1, 'custom-monitor'), false, 'a shut-off domain has no run to taint');
    store.markRunning(U1, { liveXml: '<l/>', pid: 10, state: 'running', reason: 'booted', startedAt: 1 });
    assert.equal(store.taint(U1, 'custom-monitor'), true);
    assert.equal(store.taint(U1, 'custom-monitor'), false);
    assert.deepEqual(store.get(U1)?.taints, ['custom-monitor']);
    store.markStopped(U1, 'destroyed');
    store.markRunning(U1, { liveXml: '<l/>', pid: 12, state: 'running', reason: 'booted', startedAt: 2 });
    assert.deepEqual(store.get(U1)?.taints, []);
  });

  it('undefine() of a running domain makes it transient; it disappears when it stops', () => {
    store.saveDefinition({ uuid: U1, name: 'a', persistentXml: '<a/>' });
    store.markRunning(U1, { liveXml: '<l/>', pid: 10, state: 'running', reason: 'booted', startedAt: 1 });
    assert.equal(store.undefine(U1), 'transient');
    assert.equal(store.get(U1)?.persistentXml, null);
    assert.equal(store.list()[0]?.persistent, false);
    store.markStopped(U1, 'destroyed');
    assert.equal(store.get(U1), undefined);
  });

  it('a failed write leaves nothing half-written', () => {
    store.saveDefinition({ uuid: U1, name: 'a', persistentXml: '<a/>' });
    const before = db.prepare("SELECT value FROM meta WHERE key='next_domain_id'").get();
    assert.throws(() => store.markRunning(U2, { liveXml: '<l/>', pid: 1, state: 'running', reason: 'booted', startedAt: 1 }), /no domain with matching uuid/);
    assert.deepEqual(db.prepare("SELECT value FROM meta WHERE key='next_domain_id'").get(), before);
  });
});
