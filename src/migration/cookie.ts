import { FerryError } from '../errors/ferry-error.js';
import type { DiskCopy } from './disk-plan.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import type { NvramSection } from './nvram-transfer.js';

/** Sections a receiver must understand before it accepts a migration (libvirt's flagsMandatory). */
export const KNOWN_COOKIE_SECTIONS = ['domain', 'source', 'flags', 'tuning', 'storage', 'tls', 'tpm', 'nvram'] as const;
export type CookieSection = (typeof KNOWN_COOKIE_SECTIONS)[number] | 'lockstate';

/** What the source hands the destination in Prepare: a typed, versioned record. */
export interface MigrationCookie {
  version: 1;
  migrationId: string;
  mandatory: CookieSection[];
  domain: {
    name: string;
    uuid: string;
    /** The running definition, without the source host's log paths and tap names. */
    xml: string;
    /** The persistent definition, when the source has one. */
    persistentXml: string | null;
  };
  source: {
    hostId: string;
    hostname: string;
    qemuVersion: string;
    accel: 'kvm' | 'tcg';
    /** Where the destination can ask the source about this migration (recovery). */
    peerUri?: string;
  };
  flags: Pick<MigrationOptions, 'live' | 'offline' | 'suspend' | 'persistent' | 'undefineSource' | 'postcopy'> & { sourceWasRunning: boolean };
  /** Disks copied with the migration (--copy-storage-*): the destination creates them and serves them over NBD. */
  storage?: { mode: 'all' | 'inc'; disks: DiskCopy[] };
  tuning: {
    capabilities: Record<string, boolean>;
    sharedParameters: Record<string, unknown>;
  };
  /**
   * Present when the migration is encrypted (--tls or the source's migrate_tls_force), and then
   * mandatory: the destination gives its QEMU server credentials, for the stream and the NBD exports.
   */
  tls?: { storage: boolean };
  /**
   * An offline migration of a domain with an emulated TPM (mandatory then): its state's files
   * come with Finish, and a receiver that cannot keep them must refuse rather than lose them.
   */
  tpm?: { files: number };
  /** The domain's UEFI variable store (mandatory when present: a destination that ignored it would lose the guest's variables). */
  nvram?: NvramSection;
  /** Where the destination QEMU should listen (--listen-address / --migrateuri). */
  listen?: { address?: string; port?: number };
  /** Post-copy: what the source's QEMU offers beyond plain post-copy (never mandatory: see postcopy/preempt.ts). */
  postcopy?: { preempt: boolean };
}

/** The destination's check of a cookie: a version and sections it knows. */
export function validateCookie(value: unknown): MigrationCookie {
  const c = value as Partial<MigrationCookie> | null;
  if (!c || typeof c !== 'object' || c.version !== 1) {
    throw new FerryError('MIG_PEER_REFUSED', 'operation failed: unsupported migration cookie version');
  }
  const unknown = (c.mandatory ?? []).filter((s) => !(KNOWN_COOKIE_SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new FerryError(
      'MIG_PEER_REFUSED',
      `operation failed: this ferryd does not understand the mandatory migration cookie sections: ${unknown.join(', ')}`,
    );
  }
  if (!c.domain?.xml || !c.domain.uuid || !c.migrationId || !c.source || !c.flags || !c.tuning) {
    throw new FerryError('MIG_PEER_REFUSED', 'operation failed: incomplete migration cookie');
  }
  return c as MigrationCookie;
}

/** What a cookie is built from; each optional section present is also mandatory (but the tuning of an offline migration). */
export interface CookieParts {
  migrationId: string;
  domain: MigrationCookie['domain'];
  source: MigrationCookie['source'];
  flags: MigrationCookie['flags'];
  /** Absent: an offline migration (no QEMU to tune; the section is sent empty). */
  tuning?: MigrationCookie['tuning'];
  storage?: MigrationCookie['storage'];
  tpm?: MigrationCookie['tpm'];
  nvram?: NvramSection;
  tls?: MigrationCookie['tls'];
  listen?: MigrationCookie['listen'];
  postcopy?: MigrationCookie['postcopy'];
}

/** The one cookie builder, live and offline: the sections given, each listed as mandatory. */
export function buildCookie(p: CookieParts): MigrationCookie {
  const mandatory: CookieSection[] = ['domain', 'flags'];
  const has = (section: CookieSection, present: unknown): void => {
    if (present !== undefined) mandatory.push(section);
  };
  has('tuning', p.tuning);
  has('storage', p.storage);
  has('tpm', p.tpm);
  has('nvram', p.nvram);
  has('tls', p.tls);
  return {
    version: 1,
    migrationId: p.migrationId,
    mandatory,
    domain: p.domain,
    source: p.source,
    flags: p.flags,
    tuning: p.tuning ?? { capabilities: {}, sharedParameters: {} },
    ...(p.storage ? { storage: p.storage } : {}),
    ...(p.tpm ? { tpm: p.tpm } : {}),
    ...(p.nvram ? { nvram: p.nvram } : {}),
    ...(p.tls ? { tls: p.tls } : {}),
    ...(p.listen ? { listen: p.listen } : {}),
    ...(p.postcopy ? { postcopy: p.postcopy } : {}),
  };
}
