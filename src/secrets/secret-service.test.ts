import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { openDatabase } from '../store/database.js';
import { SecretService } from './secret-service.js';
import { SecretStore } from './secret-store.js';

const U = '5f3a8f0e-3b1c-4e57-9d21-7c0c2a1b9e11';
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as FerryError).code;
  }
  return 'none';
};

describe('SecretService (real SQLite)', () => {
  it('defines, looks up by uuid and usage, keeps values apart from the XML, refuses what libvirt refuses', () => {
    const dir = tempDir('ferry-secrets-');
    const db = openDatabase(`${dir.path}/state.db`);
    try {
      const s = new SecretService(new SecretStore(db));
      const summary = s.define(`<secret private='yes'><uuid>${U.toUpperCase()}</uuid><usage type='ceph'><name>client.admin</name></usage></secret>`);
      assert.deepEqual(summary, { uuid: U, usage: 'ceph client.admin', ephemeral: false, private: true, hasValue: false });
      assert.equal(
        code(() => s.resolve({ type: 'ceph', usage: 'client.admin' })),
        'SECRET_NO_VALUE',
      );
      s.setValue(U, Buffer.from('key').toString('base64'));
      assert.equal(s.resolve({ type: 'ceph', usage: 'client.admin' }).value.toString(), 'key');
      assert.equal(s.resolve({ uuid: U }).value.toString(), 'key');
      assert.equal(
        code(() => s.getValue(U)),
        'SECRET_PRIVATE',
      );
      assert.doesNotMatch(s.dumpXml(U), /a2V5|key<\//);
      assert.equal(
        code(() => s.define(`<secret><usage type='ceph'><name>client.admin</name></usage></secret>`)),
        'SECRET_EXISTS',
      );
      assert.equal(
        code(() => s.define(`<secret><usage type='nope'><name>x</name></usage></secret>`)),
        'SECRET_INVALID',
      );
      assert.equal(
        code(() => s.setValue(U, 'not base64!')),
        'SECRET_INVALID',
      );
      assert.equal(
        code(() => s.resolve({ type: 'iscsi', usage: 'client.admin' })),
        'SECRET_NOT_FOUND',
      );
      // Redefining keeps the value; an ephemeral secret's value is in memory only.
      s.define(`<secret private='no'><uuid>${U}</uuid><usage type='ceph'><name>client.admin</name></usage></secret>`);
      assert.equal(s.getValue(U), Buffer.from('key').toString('base64'));
      const eph = s.define(`<secret ephemeral='yes'><usage type='volume'><volume>/v</volume></usage></secret>`);
      s.setValue(eph.uuid, Buffer.from('mem').toString('base64'));
      assert.equal(s.resolve({ type: 'passphrase', usage: '/v' }).value.toString(), 'mem');
      assert.equal(new SecretService(new SecretStore(db)).has({ uuid: eph.uuid }), false, 'gone with the process that held it');
      s.undefine(U);
      assert.equal(
        code(() => s.summary(U)),
        'SECRET_NOT_FOUND',
      );
    } finally {
      db.close();
      dir.cleanup();
    }
  });
});
