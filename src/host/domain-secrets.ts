import { createCipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { domainSecretNeeds, type EncryptedSecret, type SecretArgs } from '../qemu/devices/disk-secrets.js';
import type { SecretRef } from '../secrets/secret-service.js';
import type { DomainDefinition } from '../vm/definition.js';

/** The secret store as the launcher uses it (SecretService). */
export interface SecretSource {
  resolve(ref: SecretRef): { value: Buffer };
}

/**
 * The secrets a domain's disks need, each looked up in the store (refused
 * with the disk, uuid or usage named when missing or without a value), as
 * libvirt does at start and not at define.
 */
export function resolveDomainSecrets(def: DomainDefinition, store: SecretSource | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const need of domainSecretNeeds(def)) {
    if (need.value !== undefined) {
      out.set(need.id, Buffer.from(need.value, 'utf8'));
      continue;
    }
    const use = need.use as NonNullable<typeof need.use>;
    const owner = need.disk === 'nvram' ? '<nvram>' : `disk '${need.disk}'`;
    if (!store) throw new FerryError('SECRET_NOT_FOUND', `${owner}: this ferryd has no secret store`);
    try {
      out.set(
        need.id,
        store.resolve({ type: use.type, ...(use.uuid ? { uuid: use.uuid } : {}), ...(use.usage !== undefined ? { usage: use.usage } : {}) }).value,
      );
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
      throw new FerryError(err.code, `${owner} <${need.what === 'auth' ? 'auth' : 'encryption'}>: ${err.message}`, {
        details: { ...err.details, disk: need.disk },
      });
    }
  }
  return out;
}

/** AES-256-CBC with the VM's master key and a fresh IV: what QEMU's secret object decrypts (keyid=masterKey0). */
export function encryptSecret(masterKey: Buffer, value: Buffer): EncryptedSecret {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', masterKey, iv);
  const data = Buffer.concat([cipher.update(value), cipher.final()]);
  return { data: data.toString('base64'), iv: iv.toString('base64') };
}

/**
 * Writes a new 32-byte master key in the VM's run directory (mode 0600,
 * QEMU's user; deleted with the directory when the VM stops) and encrypts
 * each secret with it for QEMU's command line.
 */
export function secretArgs(values: Map<string, Buffer>, runDir: string, writeKey: (path: string, key: Buffer) => void): SecretArgs | undefined {
  if (values.size === 0) return undefined;
  const masterKey = randomBytes(32);
  const masterKeyPath = join(runDir, 'master-key.aes');
  writeKey(masterKeyPath, masterKey);
  const encrypted = new Map<string, EncryptedSecret>();
  for (const [id, v] of values) encrypted.set(id, encryptSecret(masterKey, v));
  masterKey.fill(0);
  return { masterKeyPath, values: encrypted };
}
