import { FerryError } from '../errors/ferry-error.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';

/** libvirt's "unlimited" migration bandwidth: INT64_MAX bytes/s expressed in MiB/s. */
export const UNLIMITED_BANDWIDTH_MIBS = 8796093022207;
export const DEFAULT_PARALLEL_CONNECTIONS = 2;

export function defaultMigrationOptions(): MigrationOptions {
  return {
    live: false,
    offline: false,
    persistent: false,
    undefineSource: false,
    suspend: false,
    compressed: false,
    compMethods: [],
    abortOnError: false,
    unsafe: false,
    autoConverge: false,
    postcopy: false,
    postcopyAfterPrecopy: false,
    timeoutAction: 'abort',
    copyStorage: 'none',
    copyStorageSynchronousWrites: false,
    tls: false,
  };
}

/** The capabilities and parameters both QEMUs get for a migration. */
export interface MigrationTuning {
  capabilities: Record<string, boolean>;
  /** Parameters set on both sides (multifd channels and compression must match). */
  sharedParameters: Record<string, unknown>;
  /** Parameters only the source needs. */
  sourceParameters: Record<string, unknown>;
  multifd: boolean;
  /** The downtime limit for each pass (the last one holds from then on); undefined: a fixed limit. */
  downtimeSteps?: number[];
  /** The source's QEMU has postcopy-preempt (set at Begin): a post-copy migration's cookie offers it (postcopy/preempt.ts). */
  postcopyPreempt?: boolean;
}

/**
 * ferry's downtime schedule, in ms: a live migration starts with a 50 ms
 * limit, raised a step for each pass that does not converge, up to the
 * domain's max downtime (QEMU's 300 ms unless migrate-setmaxdowntime says
 * otherwise). See DowntimeSchedule.
 */
export const DOWNTIME_STEPS_MS = [50, 100, 150, 200];

/** The limits pass by pass up to `ceiling` (the domain's max downtime). */
export function downtimeSteps(ceiling: number): number[] {
  return [...DOWNTIME_STEPS_MS.filter((ms) => ms < ceiling), ceiling];
}

/**
 * Turns the options into QEMU migration capabilities and parameters. Multifd
 * with two channels is the default (it halves the time of a large transfer
 * on QEMU 10), except where QEMU refuses to combine it: post-copy and xbzrle.
 */
export function migrationTuning(
  o: MigrationOptions,
  current: { bandwidthMiBs: number; downtimeMs: number; downtimeExplicit?: boolean },
  extra: { leaseHandover?: boolean } = {},
): MigrationTuning {
  let methods = o.compMethods;
  if (o.compressed && methods.length === 0) {
    if (o.parallel) throw new FerryError('INVALID_ARGUMENT', 'invalid argument: --parallel --compressed needs --comp-methods zlib or zstd');
    methods = ['xbzrle'];
  }
  if (!o.compressed && methods.length > 0) throw new FerryError('INVALID_ARGUMENT', 'invalid argument: --comp-methods needs --compressed');
  const multifdCompression = methods.filter((m) => m === 'zlib' || m === 'zstd');
  if (multifdCompression.length > 1) throw new FerryError('INVALID_ARGUMENT', 'invalid argument: only one of zlib and zstd can be used');
  const xbzrle = methods.includes('xbzrle');
  if (o.parallel && (o.postcopy || xbzrle)) {
    throw new FerryError('INVALID_ARGUMENT', `invalid argument: QEMU cannot combine --parallel with ${o.postcopy ? '--postcopy' : 'xbzrle compression'}`);
  }
  if (multifdCompression.length > 0 && (o.postcopy || xbzrle || o.parallel === false)) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      'invalid argument: zlib and zstd compression need parallel (multifd) migration, which cannot be combined with --postcopy or xbzrle',
    );
  }
  const multifd = o.parallel ?? (!o.postcopy && !xbzrle);
  const channels = o.parallelConnections ?? DEFAULT_PARALLEL_CONNECTIONS;
  if (!Number.isInteger(channels) || channels < 1 || channels > 255) {
    throw new FerryError('INVALID_ARGUMENT', `invalid argument: --parallel-connections must be between 1 and 255`);
  }
  const capabilities: Record<string, boolean> = {
    events: true,
    // QEMU stops before the switch so disk mirrors can be completed and disk leases handed over first.
    'pause-before-switchover': (o.copyStorage !== 'none' || (extra.leaseHandover ?? false)) && !o.offline,
    multifd,
    xbzrle,
    'auto-converge': o.autoConverge,
    'postcopy-ram': o.postcopy,
  };
  const sharedParameters: Record<string, unknown> = {};
  if (multifd) {
    sharedParameters['multifd-channels'] = channels;
    sharedParameters['multifd-compression'] = multifdCompression[0] ?? 'none';
  }
  const bandwidth = o.bandwidth ?? current.bandwidthMiBs;
  // A limit the operator chose (migrate-setmaxdowntime, or the API's maxDowntime) holds for the whole migration;
  // otherwise a live migration follows ferry's schedule up to the domain's limit.
  const steps = o.live && o.maxDowntime === undefined && !current.downtimeExplicit ? downtimeSteps(current.downtimeMs) : undefined;
  const sourceParameters: Record<string, unknown> = {
    'max-bandwidth': mibsToBytes(bandwidth),
    'downtime-limit': steps ? steps[0] : (o.maxDowntime ?? current.downtimeMs),
  };
  // QEMU's max-postcopy-bandwidth: 0 is no cap (its default), as virsh's --postcopy-bandwidth 0.
  if (o.postcopyBandwidth !== undefined) sourceParameters['max-postcopy-bandwidth'] = o.postcopyBandwidth > 0 ? mibsToBytes(o.postcopyBandwidth) : 0;
  if (o.autoConvergeInitial !== undefined || o.autoConvergeIncrement !== undefined) {
    if (!o.autoConverge)
      throw new FerryError('INVALID_ARGUMENT', 'invalid argument: --auto-converge-initial and --auto-converge-increment need --auto-converge');
    for (const v of [o.autoConvergeInitial, o.autoConvergeIncrement]) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 99))
        throw new FerryError('INVALID_ARGUMENT', 'invalid argument: auto-converge percentages are between 1 and 99');
    }
    if (o.autoConvergeInitial !== undefined) sourceParameters['cpu-throttle-initial'] = o.autoConvergeInitial;
    if (o.autoConvergeIncrement !== undefined) sourceParameters['cpu-throttle-increment'] = o.autoConvergeIncrement;
  }
  return { capabilities, sharedParameters, sourceParameters, multifd, ...(steps ? { downtimeSteps: steps } : {}) };
}

export function mibsToBytes(mibs: number): number {
  if (mibs >= UNLIMITED_BANDWIDTH_MIBS) return Number.MAX_SAFE_INTEGER;
  return Math.round(mibs * 1024 * 1024);
}

export function bytesToMibs(bytes: number): number {
  if (bytes >= Number.MAX_SAFE_INTEGER) return UNLIMITED_BANDWIDTH_MIBS;
  return Math.round(bytes / 1024 / 1024);
}
