/**
 * What `ferry migrate` was asked to do (virsh migrate's flags): the schema of
 * MigrationOptions, from which its type comes (migration/options.ts), and the
 * API's (every field may be left out: defaultMigrationOptions() fills it in).
 * migrate and migrate-check share it.
 */
import { type Static, Type } from '@sinclair/typebox';
import { arrayOf, bool, closed, int, nonEmpty, oneOf, optional } from './typed-schema.js';

export const migrationOptionsSchema = closed({
  live: bool(),
  offline: bool(),
  persistent: bool(),
  undefineSource: bool(),
  suspend: bool(),
  compressed: bool(),
  compMethods: arrayOf(oneOf(['xbzrle', 'zlib', 'zstd'])),
  abortOnError: bool(),
  unsafe: bool(),
  autoConverge: bool(),
  postcopy: bool(),
  /** --auto-converge-initial / --auto-converge-increment: vCPU throttle in percent. */
  autoConvergeInitial: optional(int(1, 99)),
  autoConvergeIncrement: optional(int(1, 99)),
  postcopyAfterPrecopy: bool(),
  /** undefined: ferry's default (multifd with 2 channels unless post-copy or xbzrle is asked for). */
  parallel: optional(bool()),
  parallelConnections: optional(int(1, 255)),
  /** MiB/s (QEMU's limit is INT64_MAX bytes/s); undefined keeps the domain's migrate-setspeed value (unlimited by default). */
  bandwidth: optional(int(0, 8796093022207)),
  /** --postcopy-bandwidth, MiB/s: QEMU's max-postcopy-bandwidth; undefined or 0: post-copy is not capped (QEMU's default). */
  postcopyBandwidth: optional(int(0, 8796093022207)),
  /** Seconds after which timeoutAction applies. */
  timeout: optional(int(1, 2_147_483)),
  timeoutAction: oneOf(['abort', 'suspend', 'postcopy']),
  listenAddress: optional(nonEmpty()),
  migrateUri: optional(nonEmpty()),
  /** ms (QEMU accepts up to 2000 s); undefined keeps the domain's migrate-setmaxdowntime value. */
  maxDowntime: optional(int(1, 2_000_000)),
  /**
   * --policy: how a live migration that does not converge is brought to an end (docs/policies.md); undefined:
   * ferryd.conf's migration_policy (auto by default), or manual when virsh's convergence flags are given.
   */
  policy: optional(oneOf(['auto', 'minimal-downtime', 'suspend-if-needed', 'post-copy', 'manual'])),
  /** --deadline: seconds after which the policy takes its final step (post-copy, a pause that fits, or abort). */
  deadline: optional(int(1, 2_147_483)),
  /** --copy-storage-all / --copy-storage-inc: copy local disks to the destination. */
  copyStorage: oneOf(['none', 'all', 'inc']),
  /** --migrate-disks: only these disks are copied. */
  migrateDisks: optional(arrayOf(nonEmpty())),
  /** --copy-storage-synchronous-writes: guest writes wait for the copy (converges under heavy writes). */
  copyStorageSynchronousWrites: bool(),
  /** --tls: QEMU encrypts the migration stream and the NBD storage copy (migrate_tls_force makes every migration so). */
  tls: bool(),
  /** --tls-destination: the name the destination's certificate must carry, when not the host the data goes to. */
  tlsDestination: optional(nonEmpty()),
  /** --graphicsuri: where SPICE clients reconnect (spice://HOST[:PORT][?tlsPort=N]); default: the destination display. */
  graphicsUri: optional(nonEmpty()),
  /** --dirty-rate-window: how long QEMU measures the guest's dirty rate for the forecast, in ms (0: not measured); default: ferryd.conf's. */
  dirtyRateWindowMs: optional(int(0, 60_000)),
});

/** The API's options (migrate, migrate-check): any subset, unknown keys refused. */
export const migrationOptionsRequestSchema = Type.Partial(migrationOptionsSchema);

/** What `ferry migrate` was asked to do (virsh migrate's flags): the type of its schema, which documents each field. */
export type MigrationOptions = Static<typeof migrationOptionsSchema>;
export type TimeoutAction = MigrationOptions['timeoutAction'];
export type CompressionMethod = MigrationOptions['compMethods'][number];
export type PolicyName = NonNullable<MigrationOptions['policy']>;
/** The policies, in the order docs/policies.md describes them. */
export const POLICY_NAMES: readonly PolicyName[] = ['auto', 'minimal-downtime', 'suspend-if-needed', 'post-copy', 'manual'];
