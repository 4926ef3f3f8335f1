import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { FerryError, fromUnknown } from './ferry-error.js';

describe('fromUnknown()', () => {
  it("says a full state database is STORE_FAILED with SQLite's reason, not INTERNAL_ERROR (a real SQLITE_FULL)", () => {
    const db = new Database(':memory:');
    db.exec('PRAGMA max_page_count = 2; CREATE TABLE t (x BLOB)');
    let caught: unknown;
    try {
      for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(4096));
    } catch (err) {
      caught = err;
    }
    db.close();
    const e = fromUnknown(caught);
    assert.equal(e.code, 'STORE_FAILED');
    assert.match(e.message, /the state database of ferryd on .+ cannot be written: database or disk is full/);
    assert.equal(e.details.sqlite, 'SQLITE_FULL');
    assert.match(e.hint, /free space/);
  });

  it('keeps a FerryError and calls any other error INTERNAL_ERROR', () => {
    const own = new FerryError('MIG_NO_JOB', 'x');
    assert.equal(fromUnknown(own), own);
    assert.equal(fromUnknown(new TypeError('boom')).code, 'INTERNAL_ERROR');
  });
});
