import type { MigrationForecast } from '../shared/migration-forecast.js';
import type { Logger } from 'pino';
import type { PeerClient } from '../peer/peer-client.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { ActiveMigration } from './active-migration.js';
import type { CookieParts, MigrationCookie } from './cookie.js';
import type { PrepareResult } from './destination.js';
import type { DiskCopy } from './disk-plan.js';
import type { PhasePatch } from './migration-ledger.js';
import { parseMigrateUri, type TcpAddress } from './migration-uri.js';
import type { NvramSection } from './nvram-transfer.js';
import { mibsToBytes, type MigrationTuning } from './options.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import type { Phase } from './phases.js';
import type { PolicyPlan } from './policy/policy-plan.js';

/** The disks a migration copies, and how (--copy-storage-all/-inc, resolved once). */
export interface StoragePlan {
  mode: 'all' | 'inc';
  disks: DiskCopy[];
  /** --copy-storage-synchronous-writes. */
  synchronous: boolean;
  /** --bandwidth, in bytes/s, for the disk mirrors. */
  speed?: number;
}

/**
 * What a migration will do, resolved once at Begin from the options: every later step reads this,
 * never the raw options again.
 */
export interface MigrationPlan {
  kind: 'live' | 'offline';
  uuid: string;
  name: string;
  destUri: string;
  /** As asked (persisted with the record, for recovery). */
  options: MigrationOptions;
  sourceWasRunning: boolean;
  /** QEMU's capabilities and parameters (live). */
  tuning?: MigrationTuning;
  /** The convergence policy of a live migration: its start configuration and escalation (docs/policies.md). */
  policy?: PolicyPlan;
  /** QEMU encrypts the stream and the NBD copies (--tls or migrate_tls_force). */
  tls: boolean;
  storage?: StoragePlan;
  /** --migrateuri, parsed once. */
  migrateUri?: TcpAddress;
  /** Where the destination QEMU should listen (--listen-address, the --migrateuri port). */
  listen?: MigrationCookie['listen'];
  /** The pre-flight warnings, and any of the plan's own. */
  warnings: string[];
}

/** Resolves the parts of a plan every kind shares: the storage copy and the data address. */
export function resolvePlan(o: MigrationOptions, base: Omit<MigrationPlan, 'options' | 'storage' | 'migrateUri' | 'listen'>, disks: DiskCopy[]): MigrationPlan {
  const migrateUri = o.migrateUri ? parseMigrateUri(o.migrateUri) : undefined;
  const listen: NonNullable<MigrationCookie['listen']> = {
    ...(o.listenAddress ? { address: o.listenAddress } : {}),
    ...(migrateUri?.port !== undefined ? { port: migrateUri.port } : {}),
  };
  return {
    ...base,
    options: o,
    ...(disks.length > 0
      ? {
          storage: {
            mode: o.copyStorage === 'inc' ? 'inc' : 'all',
            disks,
            synchronous: o.copyStorageSynchronousWrites,
            ...(o.bandwidth ? { speed: mibsToBytes(o.bandwidth) } : {}),
          },
        }
      : {}),
    ...(migrateUri ? { migrateUri } : {}),
    ...(Object.keys(listen).length > 0 ? { listen } : {}),
  };
}

/** Where the source sends the data: --migrateuri, else what the destination advertised, else the destination URI's host; its port. */
export function dataTarget(plan: MigrationPlan, prepared: PrepareResult, peerHost: string): Required<TcpAddress> {
  return { host: plan.migrateUri?.host ?? prepared.connectHost ?? peerHost, port: plan.migrateUri?.port ?? prepared.port };
}

/** One outgoing migration as its steps see it: the plan, its job, the destination, and what Prepare returned. */
export interface SourceContext {
  readonly plan: MigrationPlan;
  readonly id: string;
  readonly active: ActiveMigration;
  readonly peer: PeerClient;
  readonly log: Logger;
  readonly startedAt: number;
  /** The cookie handed to Prepare (Begin). */
  cookie?: MigrationCookie;
  nvram?: NvramSection;
  /** Prepare's answer, and the data address resolved from it once. */
  prepared?: PrepareResult;
  target?: Required<TcpAddress>;
  /** Moves this migration to its next phase through the ledger (job control sees it too). */
  enter(to: Phase, patch?: PhasePatch<'source'>): void;
  /** The forecast (docs/forecast.md), settled once its measurement is done, which may be after Perform started; never rejects. */
  forecast?: Promise<MigrationForecast | undefined>;
}

/** A context past Prepare. */
export type PreparedContext = SourceContext & { cookie: MigrationCookie; prepared: PrepareResult; target: Required<TcpAddress> };

/**
 * What differs between a live and an offline migration, as steps of the one skeleton (MigrationSource):
 * Begin (the cookie's sections), Perform, Finish, Confirm, and the rollback of a failure.
 */
export interface SourceSteps {
  /** The definition that moves (whose NVRAM goes along): the running one, or offline the persistent one. */
  readonly def: DomainDefinition;
  /** Begin: the cookie's sections but the id and the NVRAM. */
  cookie(ctx: SourceContext): Omit<CookieParts, 'migrationId' | 'nvram'>;
  /** Perform: moves the data (the VM's state, its disks). */
  perform(ctx: PreparedContext): Promise<void>;
  /** Finish: asks the destination to take over (the phase is entered already). */
  finish(ctx: PreparedContext): Promise<void>;
  /** Confirm: the source's copy goes (the phase is entered already). */
  confirm(ctx: PreparedContext): Promise<void>;
  /** A failure at any phase: records it and rolls back; resolves to the error to report. */
  rollback(ctx: SourceContext, err: unknown): Promise<unknown>;
}
