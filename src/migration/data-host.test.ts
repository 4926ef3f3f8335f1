import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advertisedDataHost, migrateUriHost, migrationDataHost } from './data-host.js';

describe('migration data host', () => {
  it('the destination advertises migration_host, else a specific listen address, else nothing', () => {
    assert.equal(advertisedDataHost('mig.h2', '0.0.0.0'), 'mig.h2');
    assert.equal(advertisedDataHost('', '10.0.2.12'), '10.0.2.12');
    assert.equal(advertisedDataHost('', '[fd00::2]'), 'fd00::2');
    assert.equal(advertisedDataHost('', '0.0.0.0'), undefined);
    assert.equal(advertisedDataHost('', '::'), undefined);
  });

  it('the source prefers --migrateuri, then the advertised host, then the URI host', () => {
    assert.equal(migrateUriHost('tcp://10.9.9.9:49200'), '10.9.9.9');
    assert.equal(migrateUriHost('tcp:[fd00::1]:1'), 'fd00::1');
    assert.equal(migrationDataHost({ migrateUri: 'tcp:10.9.9.9' }, '10.0.2.12', 'h2'), '10.9.9.9');
    assert.equal(migrationDataHost({}, '10.0.2.12', 'h2'), '10.0.2.12');
    assert.equal(migrationDataHost({}, undefined, 'h2'), 'h2');
  });
});
