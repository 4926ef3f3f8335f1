import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { usesNbdTls } from '../qemu/devices/nbd-tls.js';
import type { DomainDefinition } from '../vm/definition.js';
import { PKI_FILES } from '../transport/tls-material.js';

/** This host's x509 directories for what QEMU serves or reaches (ferryd.conf spice_tls*, nbd_tls_x509_cert_dir). */
export interface QemuTlsConfig {
  /** SPICE's server certificates; absent: spice_tls is off. */
  spiceDir?: string;
  /** The client certificates of NBD disks with tls='yes'. */
  nbdDir: string;
}

/**
 * Copies the certificates a domain's QEMU needs into its run directory (QEMU
 * runs unprivileged and cannot read the host's keys): ca-cert.pem,
 * server-cert.pem and server-key.pem for a SPICE TLS port, ca-cert.pem,
 * client-cert.pem and client-key.pem for NBD disks over TLS (QEMU's and
 * SPICE's own file names). Returns the copies' directories, for the argv.
 * A missing file is refused before QEMU starts, naming it.
 */
export function stageQemuTls(
  live: DomainDefinition,
  config: QemuTlsConfig | undefined,
  stage: (name: string, files: string[]) => string,
): { spiceX509Dir?: string; nbdX509Dir?: string } {
  const out: { spiceX509Dir?: string; nbdX509Dir?: string } = {};
  const spiceTls = live.devices.graphics.some((g) => g.type === 'spice' && g.tlsPort !== undefined && g.tlsPort > 0);
  if (spiceTls && config?.spiceDir !== undefined) {
    out.spiceX509Dir = stage(
      'spice-tls',
      present(config.spiceDir, [PKI_FILES.ca, PKI_FILES.serverCert, PKI_FILES.serverKey], 'spice_tls_x509_cert_dir', 'the SPICE TLS port'),
    );
  }
  const nbd = live.devices.disks.filter(usesNbdTls);
  if (nbd.length > 0) {
    const dir = config?.nbdDir ?? '/etc/pki/ferry';
    out.nbdX509Dir = stage(
      'nbd-tls',
      present(dir, [PKI_FILES.ca, PKI_FILES.clientCert, PKI_FILES.clientKey], 'nbd_tls_x509_cert_dir', `disk '${nbd[0]?.target.dev}' (NBD over TLS)`),
    );
  }
  return out;
}

function present(dir: string, names: string[], setting: string, what: string): string[] {
  const files = names.map((n) => join(dir, n));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new FerryError(
      'TLS_MATERIAL_MISSING',
      `Cannot read TLS certificates for ${what}: ${missing.map((f) => `'${f}'`).join(', ')}: No such file or directory`,
      {
        details: { dir, missing },
        hint: `Install this host's certificate from the cluster CA there ("ferry cert-host-create HOST --ca-dir DIR --out ${dir}"), or point ${setting} in ferryd.conf at a directory that has ${names.join(', ')}`,
      },
    );
  }
  return files;
}
