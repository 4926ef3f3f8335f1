import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestPki } from '../../test/helpers/test-pki.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { checkTlsDir, checkTlsHostname, destinationTlsCheck, sourceTlsCheck } from './tls-check.js';

describe('checkTlsDir()', () => {
  const tmp = tempDir('ferry-tls-unit-');
  let pki: TestPki;
  let other: TestPki;
  let good = '';
  const day = 24 * 3600 * 1000;

  before(() => {
    pki = new TestPki(join(tmp.path, 'ca'));
    other = new TestPki(join(tmp.path, 'other-ca'), 'another CA');
    good = pki.writeTlsDir(join(tmp.path, 'good'), pki.issue('host-a'));
  });
  after(() => tmp.cleanup());

  /** A copy of the good directory with one change. */
  const variant = (name: string, change: (dir: string) => void): string => {
    const dir = pki.writeTlsDir(join(tmp.path, name), { cert: join(good, 'server-cert.pem'), key: join(good, 'server-key.pem') });
    change(dir);
    return dir;
  };

  it('passes for a directory QEMU can use, and hands out the certificate', () => {
    for (const role of ['client', 'server'] as const) {
      const r = checkTlsDir({ dir: good, role, host: 'host-a' });
      assert.equal(r.result.outcome, 'pass', r.result.reason);
      assert.match(r.result.reason, new RegExp(`^host-a: ${role} certificate host-a valid until .+, issued by ferry test CA$`));
      assert.equal(r.certPem, readFileSync(join(good, `${role}-cert.pem`), 'utf8'));
    }
  });

  it('names the missing file, the host and how to fix it', () => {
    const dir = variant('no-key', (d) => rmSync(join(d, 'client-key.pem')));
    const r = checkTlsDir({ dir, role: 'client', host: 'host-a' });
    assert.equal(r.result.outcome, 'fail');
    assert.equal(r.result.reason, `cannot read ${dir}/client-key.pem on host-a: ENOENT`);
    assert.match(r.result.hint ?? '', /Install the private key of .*client-cert\.pem as .*client-key\.pem/);
    assert.equal(r.certPem, undefined);
    const noCa = checkTlsDir({ dir: variant('no-ca', (d) => rmSync(join(d, 'ca-cert.pem'))), role: 'server', host: 'host-b' });
    assert.match(noCa.result.reason, /^cannot read .*\/no-ca\/ca-cert\.pem on host-b: ENOENT$/);
    assert.match(noCa.result.hint ?? '', /tls_dir in ferryd\.conf/);
  });

  it('refuses a certificate outside its validity period, at the given time', () => {
    const cert = checkTlsDir({ dir: good, role: 'server', host: 'host-a', now: new Date(Date.now() + 60 * day) });
    assert.equal(cert.result.outcome, 'fail');
    assert.match(cert.result.reason, /ca-cert\.pem on host-a expired on /, 'the CA (30 days) expires with the host certificate; it is checked first');
    const shortLived = pki.writeTlsDir(join(tmp.path, 'short'), pki.issue('short', { days: 1 }));
    const expired = checkTlsDir({ dir: shortLived, role: 'client', host: 'host-a', now: new Date(Date.now() + 2 * day) });
    assert.match(expired.result.reason, /^.*\/short\/client-cert\.pem on host-a expired on \w{3} +\d+ [\d:]+ \d{4} GMT$/);
    assert.match(expired.result.hint ?? '', /^Issue a certificate for host-a from the migration CA/);
    const early = checkTlsDir({ dir: good, role: 'server', host: 'host-a', now: new Date(Date.now() - 2 * day) });
    assert.match(early.result.reason, /is not valid before /);
  });

  it("refuses a certificate another CA issued, and a key that is not the certificate's", () => {
    const foreign = other.issue('host-x');
    const dir = variant('foreign', (d) => {
      copyFileSync(foreign.cert, join(d, 'server-cert.pem'));
      copyFileSync(foreign.key, join(d, 'server-key.pem'));
    });
    const r = checkTlsDir({ dir, role: 'server', host: 'host-b' });
    assert.equal(r.result.outcome, 'fail');
    assert.match(
      r.result.reason,
      /server-cert\.pem on host-b was not issued by the CA in .*ca-cert\.pem \(its issuer: CN=another CA; the CA: CN=ferry test CA\)/,
    );
    assert.match(r.result.hint ?? '', /same CA/);
    const mismatch = variant('mismatch', (d) => copyFileSync(foreign.key, join(d, 'client-key.pem')));
    assert.match(
      checkTlsDir({ dir: mismatch, role: 'client', host: 'host-a' }).result.reason,
      /client-key\.pem on host-a is not the private key of .*client-cert\.pem/,
    );
  });

  it('refuses a certificate whose extended key usage does not allow the role', () => {
    const serverOnly = pki.issue('server-only', { usages: ['serverAuth'] });
    const dir = pki.writeTlsDir(join(tmp.path, 'server-only'), serverOnly);
    assert.equal(checkTlsDir({ dir, role: 'server', host: 'h' }).result.outcome, 'pass');
    const r = checkTlsDir({ dir, role: 'client', host: 'h' });
    assert.equal(r.result.outcome, 'fail');
    assert.match(r.result.reason, /not allowed for TLS Web Client Authentication \(clientAuth\)/);
  });

  it('refuses what is not a certificate', () => {
    const dir = variant('garbage', (d) => copyFileSync(join(d, 'server-key.pem'), join(d, 'server-cert.pem')));
    assert.match(checkTlsDir({ dir, role: 'server', host: 'h' }).result.reason, /server-cert\.pem on h: not a PEM certificate$/);
  });

  it('checkTlsHostname() matches IP addresses and DNS names against the subjectAltNames', () => {
    const pem = readFileSync(join(good, 'server-cert.pem'), 'utf8');
    assert.equal(checkTlsHostname({ certPem: pem, hostname: '127.0.0.1', destination: 'b' }).outcome, 'pass');
    assert.equal(checkTlsHostname({ certPem: pem, hostname: 'localhost', destination: 'b' }).outcome, 'pass');
    const wrong = checkTlsHostname({ certPem: pem, hostname: '127.0.0.2', destination: 'host-b' });
    assert.equal(wrong.outcome, 'fail');
    assert.equal(
      wrong.reason,
      "the server certificate of host-b does not name '127.0.0.2', the host the migration connects to (it names: IP Address:127.0.0.1, DNS:localhost)",
    );
    assert.match(wrong.hint ?? '', /subjectAltName IP:127\.0\.0\.2, or pass --tls-destination/);
    assert.match(checkTlsHostname({ certPem: pem, hostname: 'host-b.example', destination: 'host-b' }).hint ?? '', /DNS:host-b\.example/);
  });

  it('destinationTlsCheck() checks the server files when asked, and refuses a plain live migration under migrate_tls_force', () => {
    const d = { tlsDir: good, migrateTlsForce: false, hostname: 'host-b' };
    assert.equal(destinationTlsCheck({ live: true }, d), undefined, 'nothing to report for a plain migration');
    assert.equal(destinationTlsCheck({ live: true, tls: true }, d)?.result.outcome, 'pass');
    const forced = destinationTlsCheck({ live: true }, { ...d, migrateTlsForce: true });
    assert.equal(forced?.result.outcome, 'fail');
    assert.equal(forced?.result.reason, 'host-b accepts only encrypted migrations (migrate_tls_force = 1)');
    assert.match(forced?.result.hint ?? '', /^Add --tls/);
    assert.equal(destinationTlsCheck({ live: false }, { ...d, migrateTlsForce: true }), undefined, 'an offline migration sends no stream');
  });

  it("sourceTlsCheck() reports its own files first, then the destination's name", () => {
    const pem = readFileSync(join(good, 'server-cert.pem'), 'utf8');
    const ok = sourceTlsCheck({ dir: good, host: 'host-a', serverCertPem: pem, hostname: '127.0.0.1', destination: 'host-b' });
    assert.equal(ok.outcome, 'pass');
    assert.match(ok.reason, /^host-a: client certificate .*; the server certificate of host-b names '127\.0\.0\.1'$/);
    assert.equal(sourceTlsCheck({ dir: good, host: 'host-a', serverCertPem: pem, hostname: '10.1.1.1', destination: 'host-b' }).outcome, 'fail');
    const noCert = variant('src-no-cert', (d) => rmSync(join(d, 'client-cert.pem')));
    assert.match(
      sourceTlsCheck({ dir: noCert, host: 'host-a', serverCertPem: pem, hostname: '10.1.1.1', destination: 'host-b' }).reason,
      /client-cert\.pem on host-a: ENOENT/,
    );
  });
});
