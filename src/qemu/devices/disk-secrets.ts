import type { DiskDefinition, DomainDefinition, SecretUse } from '../../vm/definition.js';
import { backingNodeNames, diskNodeNames } from '../../vm/device-aliases.js';
import { backingLayers } from '../../vm/devices/disk-backing.js';
import { escapeOpt } from './device-props.js';

/** The id of the per-VM master key secret object every other secret is encrypted with (libvirt's name). */
export const MASTER_KEY_ID = 'masterKey0';

/** One secret a disk hands QEMU: from the secret store (`use`) or written in the definition (`value`: the cookies). */
export interface DiskSecretNeed {
  id: string;
  what: 'auth' | 'encryption' | 'cookies';
  disk: string;
  use?: SecretUse;
  value?: string;
}

/** A secret's value encrypted with the master key (AES-256-CBC), as QEMU's secret object takes it. */
export interface EncryptedSecret {
  data: string;
  iv: string;
}

/** What the launcher gives the argv builder: the master key's file and each secret's ciphertext, by object id. */
export interface SecretArgs {
  masterKeyPath: string;
  values: ReadonlyMap<string, EncryptedSecret>;
}

const ids = (dev: string): { auth: string; encryption: string; cookies: string } => {
  const n = diskNodeNames(dev);
  return { auth: `${n.file}-auth-secret0`, encryption: `${n.format}-encryption-secret0`, cookies: `${n.file}-httpcookie-secret0` };
};

/** The secret object of the cookies of backing layer `depth` (1 = just under the disk's source) of an http(s) chain. */
export function backingCookieSecretId(dev: string, depth: number): string {
  return `${backingNodeNames(dev, depth).file}-httpcookie-secret0`;
}

/** One Cookie header value: name=value pairs joined as RFC 6265 writes them. */
const cookieHeader = (cookies: NonNullable<DiskDefinition['cookies']>): string => cookies.map((c) => `${c.name}=${c.value}`).join('; ');

export function diskSecretNeeds(disk: DiskDefinition): DiskSecretNeed[] {
  const id = ids(disk.target.dev);
  const dev = disk.target.dev;
  const out: DiskSecretNeed[] = [];
  if (disk.auth) out.push({ id: id.auth, what: 'auth', disk: dev, use: disk.auth.secret });
  if (disk.cookies?.length) out.push({ id: id.cookies, what: 'cookies', disk: dev, value: cookieHeader(disk.cookies) });
  if (disk.encryption) out.push({ id: id.encryption, what: 'encryption', disk: dev, use: disk.encryption.secret });
  // An http(s) backing layer's own cookies (each layer may live on another server).
  backingLayers(disk).forEach((layer, i) => {
    if (layer.cookies?.length) out.push({ id: backingCookieSecretId(dev, i + 1), what: 'cookies', disk: dev, value: cookieHeader(layer.cookies) });
  });
  return out;
}

/** The CHAP secret of an iSCSI <nvram type='network'> (libvirt's id: its protocol node's name + "-auth-secret0"). */
export const NVRAM_AUTH_SECRET_ID = 'libvirt-pflash1-storage-auth-secret0';

/** The secret a network NVRAM's <auth> names (disk: 'nvram' in messages and pre-flight). */
export function nvramSecretNeeds(def: DomainDefinition): DiskSecretNeed[] {
  const auth = def.os.firmware?.nvram?.network?.auth;
  return auth ? [{ id: NVRAM_AUTH_SECRET_ID, what: 'auth', disk: 'nvram', use: auth.secret }] : [];
}

export function domainSecretNeeds(def: DomainDefinition): DiskSecretNeed[] {
  return [...nvramSecretNeeds(def), ...def.devices.disks.flatMap((d) => diskSecretNeeds(d))];
}

/** The -object secret of a network NVRAM's credentials (after the master key's). */
export function nvramSecretArgs(def: DomainDefinition, secrets: SecretArgs | undefined): string[] {
  return nvramSecretNeeds(def).flatMap((n) => {
    const v = secrets?.values.get(n.id);
    if (!v) throw new TypeError(`the value of the NVRAM's secret ${n.id} was not given`);
    return ['-object', `secret,id=${n.id},data=${v.data},keyid=${MASTER_KEY_ID},iv=${v.iv},format=base64`];
  });
}

/** -object secret of the master key (a raw 32-byte file in the VM's run directory), when the domain has secrets at all. */
export function masterKeyArgs(def: DomainDefinition, secrets: SecretArgs | undefined): string[] {
  if (domainSecretNeeds(def).length === 0) return [];
  if (!secrets) throw new TypeError('the domain uses secrets but no master key was given');
  return ['-object', `secret,id=${MASTER_KEY_ID},format=raw,file=${escapeOpt(secrets.masterKeyPath)}`];
}

/** The -object secret arguments of one disk, before its -blockdev. */
export function diskSecretArgs(disk: DiskDefinition, secrets: SecretArgs | undefined): string[] {
  return diskSecretNeeds(disk).flatMap((n) => {
    const v = secrets?.values.get(n.id);
    if (!v) throw new TypeError(`disk ${n.disk}: the value of secret ${n.id} was not given`);
    return ['-object', `secret,id=${n.id},data=${v.data},keyid=${MASTER_KEY_ID},iv=${v.iv},format=base64`];
  });
}

/** The protocol node's credentials and cookies (libvirt's keys per driver). */
export function protocolSecretProps(disk: DiskDefinition): Record<string, unknown> {
  const id = ids(disk.target.dev);
  const out: Record<string, unknown> = {};
  const p = disk.source.protocol;
  if (disk.auth) {
    if (p === 'rbd') Object.assign(out, { user: disk.auth.username, 'auth-client-required': ['cephx', 'none'], 'key-secret': id.auth });
    else if (p === 'iscsi') Object.assign(out, { user: disk.auth.username, 'password-secret': id.auth });
    else Object.assign(out, { username: disk.auth.username, 'password-secret': id.auth });
  }
  if (disk.cookies?.length) out['cookie-secret'] = id.cookies;
  return out;
}

/** The format node of a LUKS disk: QEMU's 'luks' driver for a raw LUKS image, qcow2's own encrypt= for qcow2. */
export function formatSecretProps(disk: DiskDefinition): Record<string, unknown> {
  if (!disk.encryption) return {};
  const keySecret = ids(disk.target.dev).encryption;
  if (disk.format === 'qcow2') return { encrypt: { format: 'luks', 'key-secret': keySecret } };
  return { driver: 'luks', 'key-secret': keySecret };
}
