/**
 * The migration calls' messages (source to destination): the cookie of
 * Prepare, the FinishRequest of the switch, and the replies. Types come from
 * the schemas (Static), so the source's call, the destination's route and
 * its validation cannot disagree.
 */
import { type Static, Type } from '@sinclair/typebox';
import {
  arrayOf,
  bool,
  choice,
  closed,
  int,
  integer,
  list,
  nonEmpty,
  nullableInteger,
  nullableStr,
  nullableText,
  oneOf,
  openObject,
  optional,
  record,
  str,
  text,
  flag,
} from '../typed-schema.js';
import { leaseSchema } from '../lease.js';

const diskTarget = Type.Unsafe<{ pool: string; volume: string } | { path: string }>({
  oneOf: [closed({ pool: nonEmpty(), volume: nonEmpty() }), closed({ path: nonEmpty() })],
});

const diskCopy = closed({
  dev: nonEmpty(),
  format: oneOf(['raw', 'qcow2']),
  sourcePath: str(),
  virtualSize: int(0),
  allocation: int(0),
  target: diskTarget,
});

/**
 * The migration cookie (MigrationCookie). Its top level stays open: a newer
 * source may add optional sections, and the ones it cannot do without are
 * named in `mandatory`, which the destination checks (libvirt's
 * flagsMandatory). Every section this ferryd knows is closed and typed.
 */
export const migrationCookieSchema = Type.Object({
  // Any version gets to validateCookie(), which refuses the ones it does not speak in words.
  version: int(1),
  migrationId: nonEmpty(),
  mandatory: arrayOf(str()),
  domain: closed({ name: nonEmpty(), uuid: nonEmpty(), xml: nonEmpty(), persistentXml: nullableStr() }),
  source: closed({ hostId: str(), hostname: str(), qemuVersion: str(), accel: oneOf(['kvm', 'tcg']), peerUri: optional(nonEmpty()) }),
  flags: closed({
    live: bool(),
    offline: bool(),
    suspend: bool(),
    persistent: bool(),
    undefineSource: bool(),
    postcopy: bool(),
    sourceWasRunning: bool(),
  }),
  storage: optional(closed({ mode: oneOf(['all', 'inc']), disks: arrayOf(diskCopy) })),
  tuning: closed({
    capabilities: Type.Unsafe<Record<string, boolean>>({ type: 'object', additionalProperties: { type: 'boolean' } }),
    sharedParameters: openObject(),
  }),
  tls: optional(closed({ storage: bool() })),
  tpm: optional(closed({ files: int(0) })),
  listen: optional(closed({ address: optional(nonEmpty()), port: optional(int(1, 65535)) })),
  nvram: optional(closed({ path: nonEmpty(), auto: bool(), format: oneOf(['raw', 'qcow2']), data: str(), probe: nonEmpty() })),
  /** Post-copy: the source's QEMU has postcopy-preempt (an offer; never mandatory: a destination that ignores it just does not turn it on). */
  postcopy: optional(closed({ preempt: bool() })),
});
/** The cookie as the wire carries it (the destination still checks its version and mandatory sections: validateCookie()). */
export type WireMigrationCookie = Static<typeof migrationCookieSchema>;

/** Prepare's request. */
export const prepareRequestSchema = closed({ cookie: migrationCookieSchema });

/** FinishRequest: what the source tells the destination at the switch. */
export const finishRequestSchema = closed({
  resume: bool(),
  postcopy: bool(),
  /** The persistent definition to keep there; absent or null: none. */
  persistentXml: optional(nullableStr()),
  /** The source's job statistics, kept for domjobinfo --completed. */
  stats: optional(openObject()),
  /** The disk leases the source gave up at the switch: taken there before the vCPUs run. */
  leases: optional(arrayOf(leaseSchema)),
  /** Offline: the emulated TPM's state files, name → base64 (a few KiB). */
  tpmState: optional(
    Type.Unsafe<Record<string, string>>({ type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 4 * 1024 * 1024 } }),
  ),
});
export type WireFinishRequest = Static<typeof finishRequestSchema>;

/** A migration's id in the peer API's paths. */
export const migrationIdParams = closed({ id: nonEmpty() });

const display = record({
  type: choice(['vnc', 'spice', 'dbus']),
  address: optional(text()),
  port: optional(integer()),
  tlsPort: optional(integer("SPICE's TLS port")),
});

/** Prepare's reply: where the source sends the data. */
export const prepareReplySchema = record({
  migrationId: text(),
  port: integer('The QEMU migration port (live), 0 for an offline migration'),
  nbdPort: optional(integer("Live storage copy: the incoming QEMU's NBD server port")),
  nbd: optional(list(record({ dev: text(), port: integer(), export: text() }), 'Offline storage copy: one qemu-nbd port per disk')),
  address: text('The address QEMU listens on (0.0.0.0: any)'),
  connectHost: optional(text("Where the source should send the data (migration_host, or a specific listen address); absent: the URI's host")),
  host: record({ hostId: text(), hostname: text() }),
  nvramShared: optional(flag("The destination shares the source's NVRAM file (nothing was copied; the source keeps it)")),
  displays: optional(list(display, "The incoming QEMU's displays: where SPICE clients are told to move")),
  postcopyPreempt: optional(flag('Post-copy: the incoming QEMU turned postcopy-preempt on (the source offered it and both QEMUs have it)')),
});
export type PrepareReply = Static<typeof prepareReplySchema>;

/** Finish's reply: the domain's state on the destination. */
export const finishReplySchema = record({ state: text(), domainId: nullableInteger() });
export type FinishReply = Static<typeof finishReplySchema>;

/** Abort's reply: done. */
export const doneSchema = record({}, 'Done');

/** A migration's status on the host asked (recovery asks the other side). */
export const statusReplySchema = record({
  side: choice(['source', 'destination']),
  phase: text(),
  state: nullableText(),
  incoming: optional(nullableText("The incoming QEMU's migration status (destination)")),
});
export type PeerMigrationStatus = Static<typeof statusReplySchema>;

/** postcopy-recover's reply: where the incoming QEMU, paused in post-copy, listens again for the source. */
export const recoverReplySchema = record({
  port: integer('The fresh migration port'),
  address: text('The address it listens on (0.0.0.0: any)'),
  connectHost: optional(text('Where the source should connect (migration_host, or a specific listen address); absent: the host it used')),
});
export type RecoverReply = Static<typeof recoverReplySchema>;
