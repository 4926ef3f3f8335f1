import { arrayOf, bool, int, nonEmpty, object, oneOf } from './json-schema.js';

/** virsh migrate's flags as the API takes them (MigrationOptions); migrate and migrate-check share it. */
export const migrationOptionsSchema = object({
  live: bool(), offline: bool(), persistent: bool(), undefineSource: bool(),
  suspend: bool(), compressed: bool(),
  compMethods: arrayOf(oneOf(['xbzrle', 'zlib', 'zstd'])),
  abortOnError: bool(), unsafe: bool(), autoConverge: bool(), postcopy: bool(),
  autoConvergeInitial: int(1, 99), autoConvergeIncrement: int(1, 99),
  postcopyAfterPrecopy: bool(), parallel: bool(),
  parallelConnections: int(1, 255),
  /** MiB/s; QEMU's limit is INT64_MAX bytes/s. */
  bandwidth: int(0, 8796093022207),
  /** Seconds. */
  timeout: int(1, 2_147_483),
  timeoutAction: oneOf(['abort', 'suspend', 'postcopy']),
  listenAddress: nonEmpty(), migrateUri: nonEmpty(),
  /** ms; QEMU accepts up to 2000 s. */
  maxDowntime: int(1, 2_000_000),
  copyStorage: oneOf(['none', 'all', 'inc']),
  migrateDisks: arrayOf(nonEmpty()),
  copyStorageSynchronousWrites: bool(),
  tls: bool(), tlsDestination: nonEmpty(), graphicsUri: nonEmpty(),
});
