import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { type MigrationCookie, validateCookie } from './cookie.js';
import { asTlsHandshakeError, assertTlsAllowed, tlsHostnameFor, tlsParameters, tlsWanted } from './migration-tls.js';

const cookie = (o: { tls?: boolean; offline?: boolean; storage?: boolean } = {}): MigrationCookie => ({
  version: 1,
  migrationId: 'm1',
  mandatory: ['domain', 'flags', 'tuning', ...(o.tls ? ['tls' as const] : [])],
  domain: { name: 'vm', uuid: 'u', xml: '<domain/>', persistentXml: null },
  source: { hostId: 'h', hostname: 'host-a', qemuVersion: '10.0.2', accel: 'tcg' },
  flags: { live: true, offline: o.offline ?? false, suspend: false, persistent: false, undefineSource: false, postcopy: false, sourceWasRunning: true },
  tuning: { capabilities: {}, sharedParameters: {} },
  ...(o.storage ? { storage: { mode: 'all' as const, disks: [] } } : {}),
  ...(o.tls ? { tls: { storage: false } } : {}),
});

describe('migration TLS', () => {
  it("tlsWanted() is --tls or the source's migrate_tls_force", () => {
    assert.equal(tlsWanted({ tls: false }, { dir: '/d', force: false }), false);
    assert.equal(tlsWanted({ tls: true }, { dir: '/d', force: false }), true);
    assert.equal(tlsWanted({ tls: false }, { dir: '/d', force: true }), true);
  });

  it('tlsHostnameFor() is --tls-destination, else the host of the migration URI', () => {
    assert.equal(tlsHostnameFor({}, 'tcp:10.0.1.12:49152'), '10.0.1.12');
    assert.equal(tlsHostnameFor({}, 'tcp:[fd00::12]:49152'), 'fd00::12');
    assert.equal(tlsHostnameFor({ tlsDestination: 'host-b.example' }, 'tcp:127.0.0.2:49152'), 'host-b.example');
    assert.throws(() => tlsHostnameFor({}, 'unix:/x'), TypeError);
  });

  it('tlsParameters() sets the credentials, or clears what an earlier TLS migration left', () => {
    assert.deepEqual(tlsParameters({ creds: 'c', hostname: 'h' }), { 'tls-creds': 'c', 'tls-hostname': 'h' });
    assert.deepEqual(tlsParameters({ creds: 'c' }), { 'tls-creds': 'c' }, 'the destination has no hostname to check');
    assert.deepEqual(tlsParameters(undefined), { 'tls-creds': '', 'tls-hostname': '' });
  });

  it('assertTlsAllowed() refuses a plain migration to a host with migrate_tls_force, with a hint to add --tls', () => {
    const force = { dir: '/etc/pki/ferry', force: true };
    assert.throws(
      () => assertTlsAllowed(cookie(), force, 'host-b'),
      (e: unknown) =>
        e instanceof FerryError &&
        e.code === 'MIG_TLS_REQUIRED' &&
        /host-b accepts only encrypted migrations \(migrate_tls_force = 1\)/.test(e.message) &&
        /^Add --tls/.test(e.hint),
    );
    assert.doesNotThrow(() => assertTlsAllowed(cookie({ tls: true }), force, 'host-b'));
    assert.doesNotThrow(() => assertTlsAllowed(cookie(), { ...force, force: false }, 'host-b'));
    assert.doesNotThrow(() => assertTlsAllowed(cookie({ offline: true }), force, 'host-b'), 'an offline migration without disks sends no data');
    assert.throws(() => assertTlsAllowed(cookie({ offline: true, storage: true }), force, 'host-b'), /an offline disk copy is not encrypted/);
  });

  it('a cookie with the mandatory tls section is understood', () => {
    assert.deepEqual(validateCookie(cookie({ tls: true })).tls, { storage: false });
  });

  it("asTlsHandshakeError() turns QEMU's certificate failures into MIG_TLS_HANDSHAKE with QEMU's reason", () => {
    const issuer = asTlsHandshakeError(new FerryError('MIG_FAILED', "operation failed: migration failed: The certificate hasn't got a known issuer"));
    assert.ok(issuer instanceof FerryError);
    assert.equal(issuer.code, 'MIG_TLS_HANDSHAKE');
    assert.equal(
      issuer.message,
      "operation failed: migration failed: the TLS handshake with the destination failed: The certificate hasn't got a known issuer",
    );
    const nbd = asTlsHandshakeError(
      new FerryError('QMP_COMMAND_FAILED', "internal error: unable to execute QEMU command 'blockdev-add': Certificate does not match the hostname 127.0.0.2"),
    );
    assert.match((nbd as FerryError).message, /failed: Certificate does not match the hostname 127\.0\.0\.2$/);
    const other = new FerryError('MIG_FAILED', 'operation failed: migration failed: Unable to write to socket: Broken pipe');
    assert.equal(asTlsHandshakeError(other), other, 'other failures pass unchanged');
    const cancelled = new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client');
    assert.equal(asTlsHandshakeError(cancelled), cancelled);
  });
});
