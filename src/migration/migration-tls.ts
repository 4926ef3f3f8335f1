import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import { ObjectMonitor, type TlsEndpoint } from '../qemu/object-monitor.js';
import type { MigrationCookie } from './cookie.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import { parseTcpUri } from './migration-uri.js';

/** This host's migration TLS settings (ferryd.conf tls_dir and migrate_tls_force). */
export interface MigrationTlsConfig {
  dir: string;
  force: boolean;
}

/**
 * The id of the tls-creds-x509 object ferry adds to a QEMU for a migration.
 * One QEMU takes part in one migration at a time, so one id is enough; the
 * migration stream, its multifd channels and the NBD storage copy share it.
 */
export const MIGRATION_TLS_OBJECT = 'ferry-migration-tls';

/** Is this migration encrypted? --tls, or migrate_tls_force on the source (libvirt's rule). */
export function tlsWanted(o: Pick<MigrationOptions, 'tls'>, config: MigrationTlsConfig): boolean {
  return o.tls || config.force;
}

/**
 * The name the destination's certificate must carry: --tls-destination, else
 * the host the source QEMU connects to (QEMU's own default, libvirt's too).
 */
export function tlsHostnameFor(o: Pick<MigrationOptions, 'tlsDestination'>, uri: string): string {
  if (o.tlsDestination) return o.tlsDestination;
  const a = parseTcpUri(uri);
  if (a?.port === undefined) throw new TypeError(`not a tcp:HOST:PORT migration URI: '${uri}'`);
  return a.host;
}

/**
 * Migration parameters for TLS with the given credential object, or for a
 * plain stream: the empty strings clear what an earlier TLS migration of the
 * same QEMU left behind.
 */
export function tlsParameters(tls: { creds: string; hostname?: string } | undefined): Record<string, string> {
  if (!tls) return { 'tls-creds': '', 'tls-hostname': '' };
  return { 'tls-creds': tls.creds, ...(tls.hostname !== undefined ? { 'tls-hostname': tls.hostname } : {}) };
}

/**
 * Adds this host's credentials to a QEMU (endpoint client on the source,
 * server on the destination, the peer's certificate verified either way) and
 * returns the object id. A stale object of an interrupted migration is
 * replaced. QEMU reads and checks the files here: a missing or bad file
 * fails as MIG_TLS_CREDS naming the directory.
 */
export async function addMigrationTlsCreds(
  monitor: QemuMonitor,
  a: { endpoint: TlsEndpoint; dir: string; host: string; stage: (files: string[]) => string },
): Promise<string> {
  const objects = new ObjectMonitor(monitor);
  await objects.del(MIGRATION_TLS_OBJECT).catch(() => undefined);
  try {
    // QEMU runs unprivileged and cannot read tls_dir's keys: it reads a copy in its own run directory.
    const files = ['ca-cert.pem', `${a.endpoint}-cert.pem`, `${a.endpoint}-key.pem`, 'dh-params.pem'].map((f) => join(a.dir, f)).filter((f) => existsSync(f));
    const dir = a.stage(files);
    await objects.addTlsCredsX509({ id: MIGRATION_TLS_OBJECT, dir, endpoint: a.endpoint, verifyPeer: true });
  } catch (err) {
    throw new FerryError(
      'MIG_TLS_CREDS',
      `operation failed: QEMU on ${a.host} cannot load the TLS ${a.endpoint} certificates in ${a.dir}: ${qemuReason(err)}`,
      {
        cause: err,
        details: { dir: a.dir, endpoint: a.endpoint, host: a.host },
        hint: `Put ca-cert.pem, ${a.endpoint}-cert.pem and ${a.endpoint}-key.pem in ${a.dir} on ${a.host} (tls_dir in ferryd.conf), readable by ferryd (QEMU reads a copy in its run directory); "ferry migrate-check --tls" names what is wrong`,
      },
    );
  }
  return MIGRATION_TLS_OBJECT;
}

/** Back to plain migration on this QEMU: parameters cleared, credentials removed (so the next migration starts clean). */
export async function removeMigrationTlsCreds(monitor: QemuMonitor): Promise<void> {
  await new MigrationMonitor(monitor).setParameters(tlsParameters(undefined));
  await new ObjectMonitor(monitor).del(MIGRATION_TLS_OBJECT).catch(() => undefined);
}

/**
 * The destination's rule (libvirt's migrate_tls_force): an unencrypted
 * migration that would send data here is refused before anything starts.
 * Offline migrations without disks send no data, so they are allowed.
 */
export function assertTlsAllowed(cookie: MigrationCookie, config: MigrationTlsConfig, hostname: string): void {
  if (!config.force || cookie.tls) return;
  if (cookie.flags.offline && !cookie.storage) return;
  if (cookie.flags.offline) {
    throw new FerryError(
      'MIG_TLS_REQUIRED',
      `operation failed: ${hostname} accepts only encrypted migrations (migrate_tls_force = 1), and an offline disk copy is not encrypted`,
      {
        hint: 'Copy the disks live instead (start the domain, then "ferry migrate --live --copy-storage-all --tls"), or put them on storage both hosts share',
      },
    );
  }
  throw new FerryError(
    'MIG_TLS_REQUIRED',
    `operation failed: ${hostname} accepts only encrypted migrations (migrate_tls_force = 1); this one is not encrypted`,
    {
      hint: 'Add --tls (both hosts need certificates in their tls_dir; "ferry migrate-check --tls <domain> <desturi>" checks them)',
    },
  );
}

/**
 * A failure of an encrypted migration or NBD connection whose cause is the
 * TLS handshake (QEMU's gnutls wording: unknown issuer, hostname mismatch,
 * untrusted or missing certificate) becomes MIG_TLS_HANDSHAKE, keeping
 * QEMU's reason; anything else is returned unchanged.
 */
export function asTlsHandshakeError(err: unknown): unknown {
  if (!(err instanceof FerryError) || (err.code !== 'MIG_FAILED' && err.code !== 'QMP_COMMAND_FAILED')) return err;
  const reason = qemuReason(err);
  if (!/certificate|TLS|handshake|issuer/i.test(reason)) return err;
  return new FerryError('MIG_TLS_HANDSHAKE', `operation failed: migration failed: the TLS handshake with the destination failed: ${reason}`, {
    cause: err,
    details: { ...err.details, qemu: reason },
  });
}

function qemuReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .replace(/^operation failed: migration failed: /, '')
    .replace(/^operation failed: mirroring disk \S+ failed: /, '')
    .replace(/^internal error: unable to execute QEMU command '[^']+': /, '');
}
