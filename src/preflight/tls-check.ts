import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { type CheckResult, fail, pass } from '../shared/check-result.js';

/** Which certificate of tls_dir a host presents: the source QEMU is the client, the destination the server. */
export type TlsRole = 'client' | 'server';

const EKU = { server: '1.3.6.1.5.5.7.3.1', client: '1.3.6.1.5.5.7.3.2' } as const;
const EKU_NAME = { server: 'TLS Web Server Authentication (serverAuth)', client: 'TLS Web Client Authentication (clientAuth)' } as const;

export interface TlsDirCheck {
  result: CheckResult;
  /** The role's certificate (PEM) when every file is in order, for the other side's hostname check. */
  certPem?: string;
}

/**
 * The files QEMU's tls-creds-x509 reads from tls_dir for one role:
 * ca-cert.pem, ROLE-cert.pem and ROLE-key.pem, each readable, each
 * certificate valid at `now`, the certificate issued and signed by the CA,
 * allowed for the role, and the key its own. A failure names the file, the
 * host and the fix.
 */
export function checkTlsDir(a: { dir: string; role: TlsRole; host: string; now?: Date }): TlsDirCheck {
  const now = a.now ?? new Date();
  const caPath = join(a.dir, 'ca-cert.pem');
  const certPath = join(a.dir, `${a.role}-cert.pem`);
  const keyPath = join(a.dir, `${a.role}-key.pem`);
  const where = (path: string): string => `${path} on ${a.host}`;
  const issueHint = `Issue a certificate for ${a.host} from the migration CA${a.role === 'server' ? ' (subjectAltName: the names and addresses sources connect to)' : ''} and install it as ${certPath} with its key as ${keyPath}; tls_dir in ferryd.conf says where`;

  const ca = readCertificate(caPath);
  if ('error' in ca)
    return {
      result: fail(
        'tls',
        `cannot read ${where(caPath)}: ${ca.error}`,
        `Install the CA certificate every host trusts as ${caPath}, readable by ferryd and QEMU (tls_dir in ferryd.conf)`,
      ),
    };
  const cert = readCertificate(certPath);
  if ('error' in cert) return { result: fail('tls', `cannot read ${where(certPath)}: ${cert.error}`, issueHint) };
  const key = readKey(keyPath);
  if ('error' in key)
    return {
      result: fail(
        'tls',
        `cannot read ${where(keyPath)}: ${key.error}`,
        `Install the private key of ${certPath} as ${keyPath}, readable by ferryd and QEMU (mode 0600)`,
      ),
    };

  const caDates = validity(ca.x509, now);
  if (caDates)
    return { result: fail('tls', `the CA certificate ${where(caPath)} ${caDates}`, "Renew the CA and reissue the hosts' certificates from it, on every host") };
  if (!ca.x509.ca)
    return {
      result: fail(
        'tls',
        `${where(caPath)} is not a CA certificate (basicConstraints CA:FALSE)`,
        "Put the certificate of the CA that issued the hosts' certificates in ca-cert.pem",
      ),
    };
  const certDates = validity(cert.x509, now);
  if (certDates) return { result: fail('tls', `${where(certPath)} ${certDates}`, issueHint) };
  if (!cert.x509.checkIssued(ca.x509) || !cert.x509.verify(ca.x509.publicKey)) {
    return {
      result: fail(
        'tls',
        `${where(certPath)} was not issued by the CA in ${caPath} (its issuer: ${oneLine(cert.x509.issuer)}; the CA: ${oneLine(ca.x509.subject)})`,
        'Both hosts need certificates from the same CA: reissue this one from the CA in ca-cert.pem, or install the CA that issued it on both hosts',
      ),
    };
  }
  const usages = cert.x509.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(EKU[a.role])) {
    return {
      result: fail(
        'tls',
        `${where(certPath)} is not allowed for ${EKU_NAME[a.role]}, which QEMU requires of a ${a.role} certificate`,
        `Reissue it with extendedKeyUsage = ${a.role}Auth (a host certificate can carry serverAuth and clientAuth and serve as both)`,
      ),
    };
  }
  if (!cert.x509.checkPrivateKey(key.key)) {
    return { result: fail('tls', `${where(keyPath)} is not the private key of ${certPath}`, `Install the key that belongs to ${certPath} (or reissue both)`) };
  }
  return {
    result: pass(
      'tls',
      `${a.host}: ${a.role} certificate ${commonName(cert.x509.subject)} valid until ${cert.x509.validTo}, issued by ${commonName(ca.x509.subject)}`,
    ),
    certPem: cert.pem,
  };
}

/**
 * Does the destination's server certificate carry the name the source
 * QEMU will check (tls-hostname)? An IP address is matched against the
 * IP subjectAltNames, a name against the DNS ones (or the CN without them).
 */
export function checkTlsHostname(a: { certPem: string; hostname: string; destination: string }): CheckResult {
  const cert = new X509Certificate(a.certPem);
  const matched = net.isIP(a.hostname) ? cert.checkIP(a.hostname) : cert.checkHost(a.hostname);
  const names = cert.subjectAltName ?? commonName(cert.subject);
  if (!matched) {
    return fail(
      'tls',
      `the server certificate of ${a.destination} does not name '${a.hostname}', the host the migration connects to (it names: ${names})`,
      `Reissue the destination's server-cert.pem with subjectAltName ${net.isIP(a.hostname) ? 'IP' : 'DNS'}:${a.hostname}, or pass --tls-destination with a name it carries`,
    );
  }
  return pass('tls', `the server certificate of ${a.destination} names '${a.hostname}'`);
}

/** A PEM file read and parsed, or why not: the file's error code, or `notWhat` when it does not parse. */
function readPem<T>(path: string, parse: (pem: string) => T, notWhat: string): T | { error: string } {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  try {
    return parse(pem);
  } catch {
    return { error: notWhat };
  }
}

function readCertificate(path: string): { x509: X509Certificate; pem: string } | { error: string } {
  return readPem(path, (pem) => ({ x509: new X509Certificate(pem), pem }), 'not a PEM certificate');
}

function readKey(path: string): { key: KeyObject } | { error: string } {
  return readPem(path, (pem) => ({ key: createPrivateKey(pem) }), 'not an unencrypted PEM private key (QEMU cannot use a key with a passphrase here)');
}

/** Why a certificate is not valid at `now`, or undefined. */
function validity(cert: X509Certificate, now: Date): string | undefined {
  if (now.getTime() < Date.parse(cert.validFrom)) return `is not valid before ${cert.validFrom}`;
  if (now.getTime() > Date.parse(cert.validTo)) return `expired on ${cert.validTo}`;
  return undefined;
}

function commonName(subject: string): string {
  return /^CN=(.*)$/m.exec(subject)?.[1] ?? oneLine(subject);
}

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}

/**
 * The destination's half: its server files for an encrypted migration; a
 * plain live migration is refused when this host has migrate_tls_force.
 */
export function destinationTlsCheck(
  req: { tls?: boolean; live: boolean },
  d: { tlsDir: string; migrateTlsForce: boolean; hostname: string },
): TlsDirCheck | undefined {
  if (req.tls) return checkTlsDir({ dir: d.tlsDir, role: 'server', host: d.hostname });
  if (d.migrateTlsForce && req.live) {
    return {
      result: fail(
        'tls',
        `${d.hostname} accepts only encrypted migrations (migrate_tls_force = 1)`,
        'Add --tls (both hosts need certificates in their tls_dir)',
      ),
    };
  }
  return undefined;
}

/**
 * The source's half: its client files, then the destination's server
 * certificate (from the destination's reply) against the name QEMU checks.
 */
export function sourceTlsCheck(a: { dir: string; host: string; serverCertPem: string | undefined; hostname: string; destination: string }): CheckResult {
  const own = checkTlsDir({ dir: a.dir, role: 'client', host: a.host }).result;
  if (own.outcome !== 'pass' || a.serverCertPem === undefined) return own;
  const name = checkTlsHostname({ certPem: a.serverCertPem, hostname: a.hostname, destination: a.destination });
  return name.outcome === 'pass' ? pass('tls', `${own.reason}; ${name.reason}`) : name;
}
