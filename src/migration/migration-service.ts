import type { Logger } from 'pino';
import type { PeerConnector } from '../peer/peer-connector.js';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { CommandRunner } from '../storage/command-runner.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import { ActiveMigration } from './active-migration.js';
import { MigrationDestination, type PrepareResult } from './destination.js';
import type { FinishRequest } from './incoming-switchover.js';
import type { JobInfo } from '../shared/job-info.js';
import { bytesToMibs, mibsToBytes, UNLIMITED_BANDWIDTH_MIBS } from './options.js';
import type { PortAllocator } from '../system/port-allocator.js';
import { MigrationRecovery } from './recovery.js';
import { listenAgain } from './postcopy/incoming-recover.js';
import { MigrationLedger } from './migration-ledger.js';
import { type MigrationPreflight, MigrationSource } from './source.js';
import type { MigrationTlsConfig } from './migration-tls.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import type { MigrationHistoryEntry, MigrationResult } from '../shared/api-types.js';
import { MigrationForecaster } from './forecast/migration-forecaster.js';
import { accelOf, withPolicy } from './policy/policy-forecast.js';
import type { MigrationForecast } from '../shared/migration-forecast.js';
import type { MigrationOptions, PolicyName } from '../shared/migration-options-schema.js';

export interface MigrationServiceDeps {
  host: MigrationHost;
  /** Migrations in flight on this host, shared with the pre-flight checks. */
  active: Map<string, ActiveMigration>;
  preflight: MigrationPreflight;
  migrations: MigrationStore;
  storage: StorageService;
  qemuImg: QemuImg;
  run: CommandRunner;
  runDir: string;
  ports: PortAllocator;
  hostId: string;
  hostname: string;
  migrationAddress: string;
  migrationHost?: string;
  selfPeerUri?: string;
  /** Clients for other ferryds' peer APIs. */
  peers: PeerConnector;
  /** tls_dir and migrate_tls_force, for both directions. */
  tls: MigrationTlsConfig;
  /** ferryd.conf's migration_policy. */
  policyDefault?: PolicyName;
  /** How long recovery keeps an incoming VM whose source stays silent (test_migration_orphan_timeout_ms). */
  orphanTimeoutMs?: number;
  /** Finished migrations, both directions (ferry_migrations_total and the histograms). */
  metrics?: MigrationMetrics;
  /** This host's migration history (the forecast's link rate and memory); none: the forecast assumes them. */
  history?: () => MigrationHistoryEntry[];
  /** migrate_dirty_rate_window_ms (default 100; 0: the forecast does not measure the dirty rate). */
  dirtyRateWindowMs?: number;
  /** Automatic post-copy recovery attempts after a break (migration_postcopy_recover_attempts). */
  postcopyRecoverAttempts?: number;
  /** migration_progress_timeout, in ms (0: never). */
  progressTimeoutMs?: number;
  log: Logger;
}

/**
 * Migrations on this host, both directions, and job control while they run:
 * what the API's migrate, domjobinfo, domjobabort, migrate-setspeed and friends and
 * migrate-postcopy routes and the peer API call.
 */
export class MigrationService {
  readonly active: Map<string, ActiveMigration>;
  private readonly settings = new Map<string, { bandwidthMiBs?: number; downtimeMs?: number }>();
  readonly source: MigrationSource;
  readonly destination: MigrationDestination;
  readonly recovery: MigrationRecovery;
  /** The one owner of this host's migration records, both sides and recovery. */
  readonly ledger: MigrationLedger;
  /** What a live migration from here will do (docs/forecast.md): migrate-check's and the source's before Perform. */
  readonly forecaster: MigrationForecaster;

  /** migrate-check's forecast, with what the policy will do and when (docs/policies.md). */
  forecastWithPolicy(uuid: string, destUri: string, o: MigrationOptions): Promise<MigrationForecast> | undefined {
    const vm = this.deps.host.runningDomain(uuid);
    const accel = vm?.accel ?? accelOf(vm?.def.type ?? 'kvm');
    const context = { ...(this.deps.policyDefault ? { configDefault: this.deps.policyDefault } : {}), settings: this.settingsOf(uuid), accel };
    return this.forecaster.forecast(uuid, destUri, o)?.then((f) => withPolicy(f, o, context));
  }

  constructor(private readonly deps: MigrationServiceDeps) {
    this.active = deps.active;
    this.ledger = new MigrationLedger({ migrations: deps.migrations, publish: (e) => deps.host.publish(e), metrics: deps.metrics });
    this.forecaster = new MigrationForecaster({
      host: deps.host,
      settings: (uuid) => this.settingsOf(uuid),
      history: deps.history ?? (() => []),
      windowMs: deps.dirtyRateWindowMs ?? 100,
      log: deps.log,
    });
    this.source = new MigrationSource({
      ledger: this.ledger,
      preflight: deps.preflight,
      host: deps.host,
      migrations: deps.migrations,
      storage: deps.storage,
      qemuImg: deps.qemuImg,
      run: deps.run,
      hostId: deps.hostId,
      hostname: deps.hostname,
      ...(deps.selfPeerUri ? { selfPeerUri: deps.selfPeerUri } : {}),
      peers: deps.peers,
      tls: deps.tls,
      ...(deps.policyDefault ? { policyDefault: deps.policyDefault } : {}),
      settings: (uuid) => this.settingsOf(uuid),
      forecaster: this.forecaster,
      active: this.active,
      onUnresolved: (id) => this.recovery.retryLater(id, 'source'),
      ...(deps.postcopyRecoverAttempts !== undefined ? { postcopyRecoverAttempts: deps.postcopyRecoverAttempts } : {}),
      ...(deps.progressTimeoutMs !== undefined ? { progressTimeoutMs: deps.progressTimeoutMs } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      log: deps.log,
    });
    this.destination = new MigrationDestination({
      ledger: this.ledger,
      host: deps.host,
      migrations: deps.migrations,
      storage: deps.storage,
      qemuImg: deps.qemuImg,
      run: deps.run,
      runDir: deps.runDir,
      ports: deps.ports,
      hostId: deps.hostId,
      hostname: deps.hostname,
      migrationAddress: deps.migrationAddress,
      ...(deps.migrationHost ? { migrationHost: deps.migrationHost } : {}),
      tls: deps.tls,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      log: deps.log,
    });
    this.recovery = new MigrationRecovery({
      host: deps.host,
      migrations: deps.migrations,
      ledger: this.ledger,
      destination: this.destination,
      peers: deps.peers,
      log: deps.log,
      ...(deps.orphanTimeoutMs !== undefined ? { orphanTimeoutMs: deps.orphanTimeoutMs } : {}),
      ...(deps.postcopyRecoverAttempts !== undefined ? { postcopyRecoverAttempts: deps.postcopyRecoverAttempts } : {}),
    });
  }

  /** The domain's migrate-setspeed / migrate-setmaxdowntime values, with QEMU's defaults. */
  private settingsOf(uuid: string): { bandwidthMiBs: number; downtimeMs: number; downtimeExplicit: boolean } {
    return {
      bandwidthMiBs: this.settings.get(uuid)?.bandwidthMiBs ?? UNLIMITED_BANDWIDTH_MIBS,
      downtimeMs: this.settings.get(uuid)?.downtimeMs ?? 300,
      downtimeExplicit: this.settings.get(uuid)?.downtimeMs !== undefined,
    };
  }

  migrate(ref: string, destUri: string, options: MigrationOptions): Promise<MigrationResult> {
    return this.source.migrate(ref, destUri, options);
  }

  // ---- peer side ----

  async prepareIncoming(cookie: unknown): Promise<PrepareResult> {
    const r = await this.destination.prepare(cookie).catch((err: unknown) => {
      // A Prepare that failed and could not say so in its record (a full disk) is settled by recovery once it can.
      const id = (cookie as { migrationId?: unknown } | null)?.migrationId;
      const rec = typeof id === 'string' ? this.deps.migrations.get(id, 'destination') : undefined;
      if (rec && rec.phase === 'Prepare' && typeof id === 'string') this.recovery.retryLater(id, 'destination', 5000);
      throw err;
    });
    const rec = this.deps.migrations.get(r.migrationId, 'destination');
    if (rec) this.active.set(rec.uuid, new ActiveMigration(r.migrationId, rec.uuid, rec.name, 'destination', rec.startedAt));
    // A source that cannot reach this host any more (its Abort lost with the management link) must not leave the incoming QEMU here.
    if (!r.nbd) this.recovery.watchIncoming(r.migrationId);
    return r;
  }

  async finishIncoming(id: string, req: FinishRequest): Promise<{ state: string; domainId: number | null }> {
    try {
      return await this.destination.finish(id, req);
    } finally {
      this.forget(id);
    }
  }

  async abortIncoming(id: string): Promise<void> {
    try {
      await this.destination.abort(id);
    } finally {
      this.forget(id);
    }
  }

  /** POST /peer/v1/migrations/:id/postcopy-recover: the incoming QEMU, paused in post-copy, listens again for the source. */
  recoverIncoming(id: string): Promise<{ port: number; address: string; connectHost?: string }> {
    return listenAgain(
      {
        host: this.deps.host,
        ledger: this.ledger,
        ports: this.deps.ports,
        migrationAddress: this.deps.migrationAddress,
        ...(this.deps.migrationHost ? { migrationHost: this.deps.migrationHost } : {}),
        log: this.deps.log,
      },
      id,
    );
  }

  /** GET /peer/v1/migrations/:id: this host's record of a migration, whichever side it played. */
  async peerStatus(id: string): Promise<{ side: 'source' | 'destination'; phase: string; state: string | null; incoming?: string | null }> {
    const src = this.deps.migrations.get(id, 'source');
    if (src) return { side: 'source', phase: src.phase, state: this.deps.host.domainRecord(src.uuid)?.state ?? null };
    return this.destination.status(id);
  }

  // ---- job control ----

  jobInfo(ref: string, options: { completed?: boolean } = {}): JobInfo {
    const rec = this.deps.host.lookup(ref);
    if (options.completed) {
      const last = this.deps.migrations.lastFinished(rec.uuid);
      if (!last?.stats) return { type: 'None', operation: 'Outgoing migration', timeElapsedMs: 0, percent: 0 };
      return last.stats as unknown as JobInfo;
    }
    const a = this.active.get(rec.uuid);
    if (!a) return { type: 'None', operation: 'Outgoing migration', timeElapsedMs: 0, percent: 0 };
    return { ...a.job, phase: a.phase, timeElapsedMs: Date.now() - a.startedAt };
  }

  async abort(ref: string): Promise<void> {
    const rec = this.deps.host.lookup(ref);
    const a = this.active.get(rec.uuid);
    if (!a) throw new FerryError('MIG_NO_JOB', 'Requested operation is not valid: no job is active on the domain');
    if (a.postcopyStarted) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot abort migration in post-copy mode');
    if (a.side === 'destination') {
      await this.abortIncoming(a.id);
      return;
    }
    a.requestAbort();
  }

  async startPostcopy(ref: string): Promise<void> {
    const rec = this.deps.host.lookup(ref);
    const a = this.active.get(rec.uuid);
    if (!a || a.side !== 'source') throw new FerryError('MIG_NO_JOB', 'Requested operation is not valid: no migration is running on this domain');
    const vm = this.deps.host.runningDomain(rec.uuid);
    const caps = vm ? await new MigrationMonitor(vm.monitor).queryCapabilities() : {};
    if (!caps['postcopy-ram']) {
      throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: switching to post-copy requires migration to be started with --postcopy');
    }
    // Refused with its reason while unsafe (the return path, a destination that does not answer): the VM keeps running here.
    await a.postcopy?.guard.check({ fresh: true });
    a.requestPostcopy();
  }

  /**
   * migrate --postcopy-resume: one recovery of a post-copy migration whose connection broke, now (the automatic
   * attempts may have run out, or be off). Resolves once the pages flow again.
   */
  async postcopyResume(ref: string, destUri: string): Promise<void> {
    const rec = this.deps.host.lookup(ref);
    const a = this.active.get(rec.uuid);
    // A source ferryd restarted in post-copy: recovery follows the migration to its end.
    const recovering = this.recovery.postcopyRecovery(rec.uuid);
    if (!a && recovering) return recovering.resumeNow();
    if (!a || a.side !== 'source') {
      throw new FerryError('MIG_NO_JOB', `Requested operation is not valid: no outgoing migration of domain ${rec.name} to resume on this host`);
    }
    const peer = this.deps.migrations.get(a.id, 'source')?.peer;
    if (peer !== undefined && peer !== destUri) {
      throw new FerryError('INVALID_ARGUMENT', `invalid argument: domain ${rec.name} is migrating to ${peer}, not to ${destUri}`);
    }
    if (!a.postcopyStarted || !a.postcopy) {
      throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: migration of domain ${rec.name} is not in post-copy phase`);
    }
    await a.postcopy.recovery.resumeNow();
  }

  async setSpeed(ref: string, mibs: number): Promise<void> {
    if (!Number.isFinite(mibs) || mibs < 0) throw new FerryError('INVALID_ARGUMENT', 'invalid argument: bandwidth must be a number of MiB/s');
    const rec = this.deps.host.lookup(ref);
    const value = mibs === 0 ? UNLIMITED_BANDWIDTH_MIBS : mibs;
    this.update(rec.uuid, { bandwidthMiBs: value });
    const vm = this.deps.host.runningDomain(rec.uuid);
    if (vm) await new MigrationMonitor(vm.monitor).setParameters({ 'max-bandwidth': mibsToBytes(value) });
    this.active.get(rec.uuid)?.wake();
  }

  async getSpeed(ref: string): Promise<number> {
    const rec = this.deps.host.lookup(ref);
    const a = this.active.get(rec.uuid);
    const vm = this.deps.host.runningDomain(rec.uuid);
    if (a && vm) return bytesToMibs(Number((await new MigrationMonitor(vm.monitor).queryParameters())['max-bandwidth']));
    return this.settings.get(rec.uuid)?.bandwidthMiBs ?? UNLIMITED_BANDWIDTH_MIBS;
  }

  async setMaxDowntime(ref: string, ms: number): Promise<void> {
    if (!Number.isInteger(ms) || ms <= 0 || ms > 2_000_000) {
      throw new FerryError('INVALID_ARGUMENT', 'invalid argument: migrate-setmaxdowntime needs a downtime in ms between 1 and 2000000');
    }
    const rec = this.deps.host.lookup(ref);
    this.update(rec.uuid, { downtimeMs: ms });
    const active = this.active.get(rec.uuid);
    if (active) active.downtimePinned = true;
    const vm = this.deps.host.runningDomain(rec.uuid);
    if (vm) await new MigrationMonitor(vm.monitor).setParameters({ 'downtime-limit': ms });
  }

  async getMaxDowntime(ref: string): Promise<number> {
    const rec = this.deps.host.lookup(ref);
    const vm = this.deps.host.runningDomain(rec.uuid);
    if (vm) return Number((await new MigrationMonitor(vm.monitor).queryParameters())['downtime-limit']);
    return this.settings.get(rec.uuid)?.downtimeMs ?? 300;
  }

  private update(uuid: string, patch: { bandwidthMiBs?: number; downtimeMs?: number }): void {
    this.settings.set(uuid, { ...this.settings.get(uuid), ...patch });
  }

  private forget(id: string): void {
    for (const [uuid, a] of this.active) if (a.id === id && a.side === 'destination') this.active.delete(uuid);
  }
}
