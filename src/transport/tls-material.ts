import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';

/** PEM files for one side of a mutual-TLS connection. */
export interface TlsMaterial {
  dir: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The file names in a ferry PKI directory: the ones QEMU's tls-creds-x509 expects. */
export const PKI_FILES = {
  ca: 'ca-cert.pem',
  serverCert: 'server-cert.pem',
  serverKey: 'server-key.pem',
  clientCert: 'client-cert.pem',
  clientKey: 'client-key.pem',
} as const;

export const SYSTEM_PKI_DIR = '/etc/pki/ferry';

/** Where the CLI looks for its certificate: ?pkipath=, FERRY_PKI_DIR, /etc/pki/ferry for root, ~/.pki/ferry otherwise. */
export function defaultClientPkiDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_PKI_DIR) return env.FERRY_PKI_DIR;
  return process.getuid?.() === 0 ? SYSTEM_PKI_DIR : join(os.homedir(), '.pki', 'ferry');
}

/** The CA, certificate and key a side presents: 'client' (the CLI, or a ferryd calling a peer) or 'server' (ferryd's listener). */
export function loadTlsMaterial(dir: string, side: 'client' | 'server'): TlsMaterial {
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    try {
      return readFileSync(path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message;
      throw new FerryError('TLS_MATERIAL_MISSING', `Cannot read TLS ${name.replace('.pem', '').replace('-', ' ')} '${path}': ${why}`, {
        details: { path },
        hint:
          side === 'server'
            ? `Issue this host a certificate ("ferry cert-host-create HOST --ca-dir DIR --out ${dir}") or set tls_dir in ferryd.conf`
            : `Issue a client certificate ("ferry cert-client-create NAME --ca-dir DIR --out ${dir}"), or point ?pkipath= / FERRY_PKI_DIR at one`,
      });
    }
  };
  return side === 'server'
    ? { dir, ca: read(PKI_FILES.ca), cert: read(PKI_FILES.serverCert), key: read(PKI_FILES.serverKey) }
    : { dir, ca: read(PKI_FILES.ca), cert: read(PKI_FILES.clientCert), key: read(PKI_FILES.clientKey) };
}
