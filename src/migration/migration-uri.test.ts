import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { formatTcpUri, parseMigrateUri, parseTcpUri } from './migration-uri.js';

describe('migration URIs', () => {
  it('parseTcpUri() reads both tcp: forms, IPv6 in brackets, with or without a port', () => {
    assert.deepEqual(parseTcpUri('tcp://10.9.9.9:49200'), { host: '10.9.9.9', port: 49200 });
    assert.deepEqual(parseTcpUri('tcp:10.9.9.9'), { host: '10.9.9.9' });
    assert.deepEqual(parseTcpUri('tcp:[fd00::1]:1'), { host: 'fd00::1', port: 1 });
    assert.deepEqual(parseTcpUri('tcp://[fd00::1]'), { host: 'fd00::1' });
    assert.equal(parseTcpUri('unix:/x'), undefined);
    assert.equal(parseTcpUri(undefined), undefined);
  });

  it('parseMigrateUri() refuses anything else with INVALID_ARGUMENT', () => {
    assert.throws(
      () => parseMigrateUri('rdma://h'),
      (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT' && /unsupported migration URI/.test(e.message),
    );
  });

  it("formatTcpUri() writes QEMU's form and round-trips", () => {
    assert.equal(formatTcpUri('10.0.0.2', 49152), 'tcp:10.0.0.2:49152');
    assert.equal(formatTcpUri('fd00::2', 49152), 'tcp:[fd00::2]:49152');
    assert.deepEqual(parseTcpUri(formatTcpUri('fd00::2', 7)), { host: 'fd00::2', port: 7 });
  });
});
