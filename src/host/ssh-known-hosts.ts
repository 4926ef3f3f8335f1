import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';

/** Key types in libssh's order of preference: the one a server with several keys is asked for first. */
const KEY_PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp521', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/**
 * The SHA-256 (hex) of the ssh server key that a known_hosts file holds for
 * host:port, as QEMU's ssh driver checks it (host-key-check mode=hash): QEMU
 * reads no known_hosts file but its user's, so ferryd reads <knownHosts> on
 * this host at each start. Plain and hashed (|1|salt|hash) host names,
 * "[host]:port" for a port other than 22, comma lists; @revoked and
 * @cert-authority lines are not keys of the host. With several key types,
 * the one libssh prefers.
 */
export function knownHostKeyHash(file: string, host: string, port: number): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FerryError('DISK_SSH_HOST_UNKNOWN', `Cannot read known hosts file '${file}': ${(err as Error).message}`, { cause: err });
  }
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: Array<{ type: string; blob: Buffer }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, type, key] = line.split(/\s+/);
    if (!hosts || !type || !key) continue;
    if (hosts.split(',').some((h) => matches(h, name))) keys.push({ type, blob: Buffer.from(key, 'base64') });
  }
  keys.sort((a, b) => rank(a.type) - rank(b.type));
  const best = keys[0];
  if (!best) throw new FerryError('DISK_SSH_HOST_UNKNOWN', `No key for '${name}' in known hosts file '${file}'`, { details: { file, host: name } });
  return createHash('sha256').update(best.blob).digest('hex');
}

function rank(type: string): number {
  const i = KEY_PREFERENCE.indexOf(type);
  return i < 0 ? KEY_PREFERENCE.length : i;
}

/** One host pattern of a known_hosts line against "host" or "[host]:port": plain (no wildcards) or hashed. */
function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern === name;
}
