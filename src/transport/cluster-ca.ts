import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CERT_ROLES } from '../shared/protocol.js';
import { FerryError } from '../errors/ferry-error.js';
import { PKI_FILES } from './tls-material.js';

const execFileAsync = promisify(execFile);

export const CA_FILES = { cert: 'ca-cert.pem', key: 'ca-key.pem' } as const;

export interface IssuedFiles {
  dir: string;
  files: string[];
  subject: string;
  notAfter: string;
}

/**
 * A cluster's certificate authority, made with the openssl CLI: the CA
 * itself, host certificates (OU=ferry-host, serverAuth + clientAuth, written
 * under the file names ferryd and QEMU's tls-creds-x509 read), and client
 * certificates for operators (OU=ferry-admin, or OU=ferry-readonly).
 * EC P-256 keys; the key usages QEMU's certificate sanity check wants.
 */
export class ClusterCa {
  constructor(
    readonly dir: string,
    private readonly opensslBinary = 'openssl',
  ) {}

  get certPath(): string {
    return join(this.dir, CA_FILES.cert);
  }

  private get keyPath(): string {
    return join(this.dir, CA_FILES.key);
  }

  async create(o: { name: string; days: number }): Promise<IssuedFiles> {
    if (existsSync(this.certPath) || existsSync(this.keyPath)) {
      throw new FerryError('PKI_FAILED', `a CA already exists in ${this.dir}`, { hint: 'Use it, or choose another --ca-dir; ferry never overwrites a CA key' });
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    await this.withConfig(
      [
        '[req]',
        'distinguished_name = dn',
        'x509_extensions = v3_ca',
        'prompt = no',
        '[dn]',
        'O = ferry',
        `CN = ${configValue(o.name)}`,
        '[v3_ca]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
      ],
      (conf) =>
        this.openssl([
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          this.keyPath,
          '-out',
          this.certPath,
          '-days',
          String(o.days),
          '-config',
          conf,
        ]),
    );
    chmodSync(this.keyPath, 0o600);
    return describe(this.dir, [this.certPath, this.keyPath], this.certPath);
  }

  /** A host's certificate for ferryd's TLS listener, its calls to peers and QEMU's --tls migrations. */
  async issueHost(o: { hostname: string; addresses: string[]; dnsNames: string[]; out: string; days: number }): Promise<IssuedFiles> {
    const sans = [...new Set([o.hostname, ...o.dnsNames])].map((n) => (isIp(n) ? `IP:${n}` : `DNS:${n}`)).concat(o.addresses.map((a) => `IP:${a}`));
    const { cert, key } = await this.issue({ cn: o.hostname, ou: CERT_ROLES.host, usages: 'serverAuth, clientAuth', sans, out: o.out, days: o.days });
    const files = [
      join(o.out, PKI_FILES.ca),
      join(o.out, PKI_FILES.serverCert),
      join(o.out, PKI_FILES.serverKey),
      join(o.out, PKI_FILES.clientCert),
      join(o.out, PKI_FILES.clientKey),
    ];
    copyFileSync(this.certPath, files[0] as string);
    copyFileSync(cert, files[1] as string);
    copyFileSync(key, files[2] as string);
    copyFileSync(cert, files[3] as string);
    copyFileSync(key, files[4] as string);
    for (const f of [files[2], files[4]]) chmodSync(f as string, 0o600);
    rmSync(cert);
    rmSync(key);
    return describe(o.out, files, files[1] as string);
  }

  /** An operator's certificate for `ferry -c ferry+tls://...` (read-only with OU=ferry-readonly). */
  async issueClient(o: { name: string; readonly: boolean; out: string; days: number }): Promise<IssuedFiles> {
    const { cert, key } = await this.issue({
      cn: o.name,
      ou: o.readonly ? CERT_ROLES.readonly : CERT_ROLES.admin,
      usages: 'clientAuth',
      sans: [],
      out: o.out,
      days: o.days,
    });
    const files = [join(o.out, PKI_FILES.ca), join(o.out, PKI_FILES.clientCert), join(o.out, PKI_FILES.clientKey)];
    copyFileSync(this.certPath, files[0] as string);
    copyFileSync(cert, files[1] as string);
    copyFileSync(key, files[2] as string);
    chmodSync(files[2] as string, 0o600);
    rmSync(cert);
    rmSync(key);
    return describe(o.out, files, files[1] as string);
  }

  private async issue(o: { cn: string; ou: string; usages: string; sans: string[]; out: string; days: number }): Promise<{ cert: string; key: string }> {
    if (!existsSync(this.certPath) || !existsSync(this.keyPath)) {
      throw new FerryError('PKI_FAILED', `no CA in ${this.dir} (${CA_FILES.cert} and ${CA_FILES.key})`, {
        hint: `Create one first: ferry cert-ca-create --ca-dir ${this.dir}`,
      });
    }
    mkdirSync(o.out, { recursive: true, mode: 0o755 });
    const key = join(o.out, `.new-key-${process.pid}.pem`);
    const cert = join(o.out, `.new-cert-${process.pid}.pem`);
    await this.withConfig(
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        'O = ferry',
        `OU = ${o.ou}`,
        `CN = ${configValue(o.cn)}`,
        '[v3_leaf]',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        `extendedKeyUsage = ${o.usages}`,
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        ...(o.sans.length > 0 ? [`subjectAltName = ${o.sans.join(', ')}`] : []),
      ],
      async (conf, tmp) => {
        const csr = join(tmp, 'req.csr');
        await this.openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-config', conf]);
        await this.openssl([
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          this.certPath,
          '-CAkey',
          this.keyPath,
          '-set_serial',
          `0x${randomBytes(16).toString('hex')}`,
          '-days',
          String(o.days),
          '-extfile',
          conf,
          '-extensions',
          'v3_leaf',
          '-out',
          cert,
        ]);
      },
    );
    return { cert, key };
  }

  private async withConfig(lines: string[], fn: (conf: string, tmp: string) => Promise<unknown>): Promise<void> {
    const tmp = mkdtempSync(join(this.dir, '.tmp-'));
    try {
      const conf = join(tmp, 'openssl.cnf');
      writeFileSync(conf, `${lines.join('\n')}\n`);
      await fn(conf, tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  private async openssl(args: string[]): Promise<void> {
    try {
      await execFileAsync(this.opensslBinary, args);
    } catch (err) {
      const e = err as { stderr?: string; code?: string; message: string };
      throw new FerryError(
        'PKI_FAILED',
        `openssl ${args[0]} failed: ${e.code === 'ENOENT' ? 'openssl is not installed' : (e.stderr ?? e.message).trim().split('\n').slice(-2).join(' ')}`,
        { cause: err },
      );
    }
  }
}

function describe(dir: string, files: string[], certPath: string): IssuedFiles {
  const x = new X509Certificate(readFileSync(certPath));
  return { dir, files, subject: x.subject.split('\n').join(','), notAfter: x.validTo };
}

function isIp(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || s.includes(':');
}

/** Names go into an openssl config file: no line breaks or section syntax. */
function configValue(s: string): string {
  if (!/^[\w .@+-]{1,64}$/.test(s))
    throw new FerryError('INVALID_ARGUMENT', `invalid argument: '${s}' is not a usable certificate name (letters, digits, space, . @ + - _)`);
  return s;
}
