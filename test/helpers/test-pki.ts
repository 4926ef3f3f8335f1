import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its private key, as file paths. */
export interface IssuedCert {
  cert: string;
  key: string;
}

/**
 * A throwaway certificate authority for tests, made with the `openssl` CLI:
 * EC P-256 keys, a CA with keyCertSign, host certificates with both
 * serverAuth and clientAuth (one certificate serves as server-* and client-*),
 * the key usages QEMU's tls-creds-x509 sanity check wants.
 */
export class TestPki {
  readonly caCert: string;
  private readonly caKey: string;
  private serial = 1;

  constructor(
    readonly dir: string,
    readonly name = 'ferry test CA',
  ) {
    mkdirSync(dir, { recursive: true });
    this.caCert = join(dir, 'ca-cert.pem');
    this.caKey = join(dir, 'ca-key.pem');
    const conf = this.writeConf('ca.cnf', [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = v3_ca',
      'prompt = no',
      '[dn]',
      `CN = ${name}`,
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
    ]);
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      this.caKey,
      '-out',
      this.caCert,
      '-days',
      '30',
      '-config',
      conf,
    ]);
  }

  /** A host certificate signed by this CA; `sans` like ['IP:127.0.0.1', 'DNS:localhost'], `usages` its extendedKeyUsage. */
  issue(name: string, o: { sans?: string[]; days?: number; usages?: Array<'serverAuth' | 'clientAuth'> } = {}): IssuedCert {
    const key = join(this.dir, `${name}-key.pem`);
    const csr = join(this.dir, `${name}.csr`);
    const cert = join(this.dir, `${name}-cert.pem`);
    const conf = this.writeConf(`${name}.cnf`, [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${name}`,
      '[v3_host]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      `extendedKeyUsage = ${(o.usages ?? ['serverAuth', 'clientAuth']).join(', ')}`,
      `subjectAltName = ${(o.sans ?? ['IP:127.0.0.1', 'DNS:localhost']).join(', ')}`,
    ]);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-config', conf]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.caCert,
      '-CAkey',
      this.caKey,
      '-set_serial',
      String(this.serial++),
      '-days',
      String(o.days ?? 30),
      '-extfile',
      conf,
      '-extensions',
      'v3_host',
      '-out',
      cert,
    ]);
    return { cert, key };
  }

  /**
   * Fills a tls_dir with the file names QEMU's tls-creds-x509 expects: this
   * CA's certificate and the host certificate as both server-* and client-*.
   */
  writeTlsDir(dir: string, host: IssuedCert): string {
    mkdirSync(dir, { recursive: true });
    copyFileSync(this.caCert, join(dir, 'ca-cert.pem'));
    for (const role of ['server', 'client']) {
      copyFileSync(host.cert, join(dir, `${role}-cert.pem`));
      copyFileSync(host.key, join(dir, `${role}-key.pem`));
    }
    return dir;
  }

  private writeConf(file: string, lines: string[]): string {
    const path = join(this.dir, file);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
