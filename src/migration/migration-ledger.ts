import { FerryError } from '../errors/ferry-error.js';
import type { DomainEvent } from '../shared/domain-events.js';
import type { Lease } from '../shared/lease.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import type { MigrationRecord, MigrationStore } from '../store/migration-store.js';
import type { MigrationCookie } from './cookie.js';
import { finishedMigration } from './finished-migration.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import type { MigrationForecast } from '../shared/migration-forecast.js';
import { assertTransition, isFinal, type Phase, RECOVERY_TRANSITIONS, type Side } from './phases.js';

/** What the source side keeps in its record (for recovery after a restart). */
export interface SourceData {
  sourceWasRunning: boolean;
  /** The destination's QEMU migration port (Perform). */
  port?: number;
  destHostId?: string;
  /** The disk leases released at the switch, taken back on a rollback. */
  lockState?: Lease[];
  /** What was forecast before Perform (docs/forecast.md), kept beside the outcome for migrate-history. */
  forecast?: MigrationForecast;
}

/** What the destination side keeps in its record. */
export interface DestinationData {
  sourceHostId: string;
  /** Files this host created for the migration (copied disks, NVRAM): removed if it fails. */
  created?: string[];
  nvramPath?: string;
  port?: number;
  address?: string;
  ports?: number[];
  nbdPort?: number;
  tls?: boolean;
  /** Offline storage copy: the qemu-nbd servers. */
  nbdPids?: number[];
}

type DataOf<S extends Side> = S extends 'source' ? SourceData : DestinationData;
/** Source: the migrate options; destination: the cookie's flags. */
type OptionsOf<S extends Side> = S extends 'source' ? MigrationOptions : MigrationCookie['flags'];

/** One side's record of a migration, typed. */
export type LedgerRecord<S extends Side = Side> = S extends Side ? Omit<MigrationRecord<DataOf<S>, OptionsOf<S>, Phase>, 'side'> & { side: S } : never;

export type NewLedgerRecord<S extends Side> = Pick<LedgerRecord<S>, 'id' | 'side' | 'uuid' | 'name' | 'phase' | 'peer' | 'options' | 'data'>;

export interface PhasePatch<S extends Side> {
  data?: Partial<DataOf<S>>;
  stats?: Record<string, unknown>;
  error?: string;
}

export interface LedgerDeps {
  migrations: MigrationStore;
  publish: (event: DomainEvent) => void;
  /** Where finished migrations are counted (ferry_migrations_total and the histograms). */
  metrics?: MigrationMetrics | undefined;
  now?: () => number;
}

/**
 * The one owner of the migration records: every phase change, on either side and by recovery, goes
 * through transition() or recover(), which check it against the phase table, persist it before
 * anything acts on it, and announce it (`migration.phase`). The records come back typed.
 */
export class MigrationLedger {
  private readonly now: () => number;

  constructor(private readonly deps: LedgerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Records a new migration in its first phase; `announce` publishes it (the source's Begin → Begin). */
  begin<S extends Side>(rec: NewLedgerRecord<S>, o: { announce?: boolean } = {}): LedgerRecord<S> {
    this.deps.migrations.create(rec);
    if (o.announce) this.publish(rec, rec.phase, rec.phase);
    return this.require(rec.id, rec.side as S);
  }

  get<S extends Side>(id: string, side: S): LedgerRecord<S> | undefined {
    return typed<S>(this.deps.migrations.get(id, side));
  }

  /** The protocol's move to `to` (TRANSITIONS); a final phase is counted in the metrics. */
  transition<S extends Side>(id: string, side: S, to: Phase, patch: PhasePatch<S> = {}): LedgerRecord<S> {
    const from = this.require(id, side).phase;
    assertTransition(side, from, to);
    const rec = this.persist(id, side, to, patch);
    this.publish(rec, from, to);
    if (isFinal(to)) {
      this.deps.metrics?.migrationFinished(finishedMigration(side === 'source' ? 'out' : 'in', to, this.now() - rec.startedAt, patch.stats));
    }
    return rec;
  }

  /**
   * Recovery's move to `to` (RECOVERY_TRANSITIONS), from the phase the store last recorded. It is announced
   * like any other; it is not counted in the metrics (the ferryd that counts a migration is the one that ran it).
   */
  recover<S extends Side>(id: string, side: S, to: Phase, patch: PhasePatch<S> = {}): LedgerRecord<S> {
    const from = this.require(id, side).phase;
    assertTransition(side, from, to, RECOVERY_TRANSITIONS);
    const rec = this.persist(id, side, to, patch);
    this.publish(rec, from, to);
    return rec;
  }

  /** Side data learned within a phase (ports, created files, released leases). */
  note<S extends Side>(id: string, side: S, data: Partial<DataOf<S>>): void {
    this.deps.migrations.updateData(id, side, data);
  }

  /** Nothing is left to undo for this side (recovery skips it from now on). */
  cleanedUp(id: string, side: Side): void {
    this.deps.migrations.markCleanupDone(id, side);
  }

  /** Migrations a restarted ferryd must look at. */
  unfinished(): LedgerRecord[] {
    return this.deps.migrations.unfinished().map((r) => typed(r) as LedgerRecord);
  }

  private require<S extends Side>(id: string, side: S): LedgerRecord<S> {
    const rec = this.get(id, side);
    if (!rec) throw new FerryError('MIG_NOT_FOUND', `migration ${id} not found on the ${side} side`);
    return rec;
  }

  private persist<S extends Side>(id: string, side: S, to: Phase, patch: PhasePatch<S>): LedgerRecord<S> {
    return typed<S>(this.deps.migrations.setPhase(id, side, to, patch)) as LedgerRecord<S>;
  }

  private publish(rec: { id: string; uuid: string; name: string; side: Side }, from: Phase, to: Phase): void {
    this.deps.publish({ type: 'migration.phase', id: rec.id, uuid: rec.uuid, name: rec.name, side: rec.side, from, to, at: this.now() });
  }
}

/** The store's JSON columns, read back as this side's types (the ledger wrote them). */
function typed<S extends Side>(rec: MigrationRecord | undefined): LedgerRecord<S> | undefined {
  return rec as unknown as LedgerRecord<S> | undefined;
}

/** A ledger over the store, announcing through the host, for callers not handed one. */
export function ledgerFor(d: {
  migrations: MigrationStore;
  host: { publish(event: DomainEvent): void };
  metrics?: MigrationMetrics | undefined;
  now?: () => number;
}): MigrationLedger {
  return new MigrationLedger({ migrations: d.migrations, publish: (e) => d.host.publish(e), metrics: d.metrics, ...(d.now ? { now: d.now } : {}) });
}
