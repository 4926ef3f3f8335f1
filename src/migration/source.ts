import { randomUUID } from 'node:crypto';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import type { RunningDomain } from '../host/running-domain.js';
import { emulatedTpm } from '../host/swtpm.js';
import type { PeerClient } from '../peer/peer-client.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import { migrationHostOf } from '../peer/peer-address.js';
import type { CommandRunner } from '../storage/command-runner.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import type { MigrationStore } from '../store/migration-store.js';
import { isWritableDisk } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { ActiveMigration } from './active-migration.js';
import { buildCookie } from './cookie.js';
import { planDiskCopies } from './disk-plan.js';
import { parseGraphicsUri } from '../common/graphics-uri.js';
import { LiveSteps } from './live-steps.js';
import { ledgerFor, type MigrationLedger } from './migration-ledger.js';
import { dataTarget, type MigrationPlan, type PreparedContext, resolvePlan, type SourceContext, type SourceSteps } from './migration-plan.js';
import type { MigrationResult } from '../shared/api-types.js';
import { type MigrationTlsConfig, tlsWanted } from './migration-tls.js';
import { nvramSection, removeNvramProbe } from './nvram-transfer.js';
import { OfflineSteps } from './offline-steps.js';
import { hasPreempt } from './postcopy/preempt.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import { migrationTuning } from './options.js';
import { planPolicy } from './policy/policy-plan.js';
import { accelOf, policyRequest } from './policy/policy-forecast.js';
import { applyPlanToTuning, startOptions } from './policy/start-options.js';
import type { MigrationOptions, PolicyName } from '../shared/migration-options-schema.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import type { MigrationForecast } from '../shared/migration-forecast.js';

/** The pre-flight checks a migration runs before anything moves (PreflightService): all failures at once, as MIG_PREFLIGHT_FAILED. */
export interface MigrationPreflight {
  check(ref: string, destUri: string, o: MigrationOptions): Promise<{ warnings: ReadonlyArray<{ reason: string }> }>;
}

export interface SourceDeps {
  host: MigrationHost;
  preflight: MigrationPreflight;
  migrations: MigrationStore;
  /** The records' owner; by default one over `migrations`, announcing through `host`. */
  ledger?: MigrationLedger;
  storage: StorageService;
  qemuImg: QemuImg;
  run: CommandRunner;
  hostId: string;
  hostname: string;
  /** How the destination can reach this ferryd (recovery), if it listens. */
  selfPeerUri?: string;
  /** Clients for the destination's peer API, over the DESTURI's transport. */
  peers: PeerConnector;
  /** tls_dir and migrate_tls_force. */
  tls: MigrationTlsConfig;
  /** The domain's migrate-setspeed / migrate-setmaxdowntime values. */
  settings: (uuid: string) => { bandwidthMiBs: number; downtimeMs: number; downtimeExplicit?: boolean };
  /** Forecasts a live migration (MigrationForecaster): started with the pre-flight checks, awaited before Perform. */
  forecaster?: {
    forecast(uuid: string, destUri: string, o: MigrationOptions): Promise<MigrationForecast> | undefined;
    /** The measurement cannot overlap the migration's own dirty tracking (KVM's dirty bitmap): Perform waits for it. */
    measuresBeforePerform(uuid: string, o: MigrationOptions): boolean;
  };
  /** ferryd.conf's migration_policy: the policy of a live migration that names none (auto when unset). */
  policyDefault?: PolicyName;
  active: Map<string, ActiveMigration>;
  /** Called when a migration's outcome could not be learned from the destination (recovery takes over). */
  onUnresolved?: (id: string) => void;
  /** Automatic post-copy recovery attempts (migration_postcopy_recover_attempts). */
  postcopyRecoverAttempts?: number;
  /** migration_progress_timeout, in ms (0: never). */
  progressTimeoutMs?: number;
  /** Where finished migrations are counted (ferry_migrations_total and the histograms). */
  metrics?: MigrationMetrics;
  log: Logger;
  now?: () => number;
}

/** Checks that refuse a migration before anything moves (the unsafe cache check, live-blocking devices). */
export function checkMigratable(vm: RunningDomain, o: MigrationOptions): void {
  if (o.live && vm.def.devices.hostdevs.length > 0) {
    const h = vm.def.devices.hostdevs[0];
    throw new FerryError(
      'MIG_UNSUPPORTED_DEVICE',
      `Requested operation is not valid: domain has an assigned ${h?.type.toUpperCase()} host device (${h?.address}) and cannot be migrated live`,
    );
  }
  // As libvirt: a <transient/> disk's overlay is this host's own, discarded at stop; it does not move.
  const transient = vm.def.devices.disks.find((d) => d.transient);
  if (transient) {
    throw new FerryError(
      'MIG_UNSUPPORTED_DEVICE',
      `Requested operation is not valid: migration with transient disk '${transient.target.dev}' is not supported`,
      {
        details: { disk: transient.target.dev },
        hint: 'Shut the domain down and migrate it offline (--offline --persistent): the transient disk starts afresh from its image there',
      },
    );
  }
  if (!o.unsafe) {
    const unsafe = vm.def.devices.disks.find((d) => isWritableDisk(d) && d.cache !== 'none' && d.cache !== 'directsync' && !d.shareable);
    if (unsafe) {
      throw new FerryError('MIG_UNSAFE', 'Unsafe migration: Migration may lead to data corruption if disks use cache != none', {
        details: { disk: unsafe.target.dev, cache: unsafe.cache ?? 'default' },
        hint: `Disk ${unsafe.target.dev} uses cache=${unsafe.cache ?? 'default'}: "ferry disk-edit ${vm.name} ${unsafe.target.dev} --cache none" and restart the domain, or pass --unsafe`,
      });
    }
  }
}

/**
 * The source side of a peer-to-peer migration (libvirt's v3 protocol, driven by this ferryd), one
 * skeleton for live and offline migrations: Begin resolves a MigrationPlan and records the migration,
 * Prepare on the destination, Perform, Finish on the destination, Confirm. Every phase is recorded
 * (MigrationLedger) before it acts; what each kind does in a phase is its SourceSteps (LiveSteps,
 * OfflineSteps), and any failure is handed to their rollback.
 */
export class MigrationSource {
  private readonly now: () => number;
  private readonly ledger: MigrationLedger;

  constructor(private readonly deps: SourceDeps) {
    this.now = deps.now ?? Date.now;
    this.ledger = deps.ledger ?? ledgerFor(deps);
  }

  async migrate(ref: string, destUri: string, options: MigrationOptions): Promise<MigrationResult> {
    const { plan, peer, steps, forecast } = options.offline
      ? { ...(await this.beginOffline(ref, destUri, options)), forecast: undefined }
      : await this.beginLive(ref, destUri, options);
    return this.run(plan, peer, steps, forecast);
  }

  /** Begin (live): the domain runs here; checks, the pre-flight, the tuning and the disks to copy. */
  private async beginLive(
    ref: string,
    destUri: string,
    options: MigrationOptions,
  ): Promise<{ plan: MigrationPlan; peer: PeerClient; steps: SourceSteps; forecast: Promise<MigrationForecast | undefined> | undefined }> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    const vm = host.runningDomain(rec.uuid);
    if (!vm) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
    const peer = this.deps.peers.client(destUri);
    checkMigratable(vm, options);
    // The forecast measures the guest while the pre-flight checks and Prepare run (so a migration waits for it only
    // when they are shorter than the measurement's window); it is awaited before Perform.
    const forecast = this.startForecast(vm.uuid, destUri, options);
    // Every requirement, checked before anything moves; all failures at once.
    const report = await this.deps.preflight.check(ref, destUri, options);
    // The policy first: it decides what QEMU starts with (post-copy or multifd, compression, a throttle) and the escalation.
    const settings = this.deps.settings(vm.uuid);
    const policyContext = { ...(this.deps.policyDefault ? { configDefault: this.deps.policyDefault } : {}), settings, accel: vm.accel ?? accelOf(vm.def.type) };
    let policy = planPolicy(policyRequest(options, policyContext));
    if (options.live && policy.policy === 'auto' && forecast) {
      // auto chooses what QEMU starts with (multifd, or post-copy when pre-copy will not converge) from the forecast:
      // its measurement ran alongside the checks (migrate_dirty_rate_window_ms), what is left of it is waited for here.
      const measured = await forecast;
      if (measured) policy = planPolicy(policyRequest(options, policyContext, measured));
    }
    if (policy.refuse) {
      throw new FerryError(
        'MIG_NOT_CONVERGING',
        `operation aborted: migration would not converge (policy ${policy.policy}: ${policy.refuse}); nothing was moved`,
      );
    }
    const tuning = applyPlanToTuning(migrationTuning(startOptions(options, policy), settings, { leaseHandover: host.leasesEnabled() }), policy);
    tuning.postcopyPreempt = await hasPreempt(new MigrationMonitor(vm.monitor));
    const disks =
      options.copyStorage === 'none'
        ? []
        : await planDiskCopies(host.portableDefinition(vm.uuid), options.migrateDisks ? { migrateDisks: options.migrateDisks } : {}, this.deps);
    if (options.copyStorage !== 'none' && disks.length === 0) {
      throw new FerryError('INVALID_ARGUMENT', 'invalid argument: --copy-storage-* given, but the domain has no local writable disk to copy');
    }
    if (options.graphicsUri) parseGraphicsUri(options.graphicsUri); // refused before anything starts
    const plan = resolvePlan(
      options,
      {
        kind: 'live',
        uuid: vm.uuid,
        name: vm.name,
        destUri,
        sourceWasRunning: vm.status.state === 'running',
        tuning,
        ...(options.live ? { policy } : {}),
        tls: tlsWanted(options, this.deps.tls),
        warnings: report.warnings.map((w) => w.reason),
      },
      disks,
    );
    return { plan, peer, steps: new LiveSteps({ ...this.deps, ledger: this.ledger, now: this.now }, vm), forecast };
  }

  /** The forecast under way, never rejecting (a migration goes on without one). */
  private startForecast(uuid: string, destUri: string, options: MigrationOptions): Promise<MigrationForecast | undefined> | undefined {
    let started: Promise<MigrationForecast> | undefined;
    try {
      started = this.deps.forecaster?.forecast(uuid, destUri, options);
    } catch (err) {
      this.deps.log.warn({ err }, 'could not forecast the migration');
    }
    return started?.catch((err: unknown) => {
      this.deps.log.warn({ err }, 'could not forecast the migration');
      return undefined;
    });
  }

  /** Begin (offline): the persistent definition moves, with the disks of a shut-off domain when asked. */
  private async beginOffline(ref: string, destUri: string, options: MigrationOptions): Promise<{ plan: MigrationPlan; peer: PeerClient; steps: SourceSteps }> {
    const { host } = this.deps;
    if (tlsWanted(options, this.deps.tls) && options.copyStorage !== 'none') {
      throw new FerryError(
        'NOT_SUPPORTED',
        'this function is not supported by the connection driver: an offline disk copy cannot be encrypted (--tls or migrate_tls_force)',
        {
          hint: 'Copy the disks live instead (start the domain, then "ferry migrate --live --copy-storage-all --tls"), or put them on storage both hosts share',
        },
      );
    }
    const report = await this.deps.preflight.check(ref, destUri, options);
    const rec = host.lookup(ref);
    const persistentXml = rec.persistentXml;
    if (persistentXml === null) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot migrate a transient domain offline');
    const running = rec.liveXml !== null;
    if (running && options.copyStorage !== 'none') {
      throw new FerryError(
        'OPERATION_INVALID',
        'Requested operation is not valid: domain is running: copying its disks offline needs it shut off (or migrate it --live --copy-storage-all)',
      );
    }
    const peer = this.deps.peers.client(destUri);
    const def = parseDomainXml(persistentXml);
    const disks =
      options.copyStorage === 'none' ? [] : await planDiskCopies(def, options.migrateDisks ? { migrateDisks: options.migrateDisks } : {}, this.deps);
    // The emulated TPM's state (a few KiB of files) goes along, as a shut-off domain's NVRAM and disks would.
    const tpmState = emulatedTpm(def) ? host.tpmState(def) : undefined;
    const warnings = [
      ...report.warnings.map((w) => w.reason),
      ...(running ? ['the domain keeps running here: an offline migration copies only its definition'] : []),
    ];
    const plan = resolvePlan(options, { kind: 'offline', uuid: rec.uuid, name: rec.name, destUri, sourceWasRunning: false, tls: false, warnings }, disks);
    const steps = new OfflineSteps({ ...this.deps, ledger: this.ledger, now: this.now }, { rec: { ...rec, persistentXml }, def, running, tpmState });
    return { plan, peer, steps };
  }

  /** The skeleton: Begin's record and cookie, Prepare, then the steps' Perform, Finish and Confirm; a failure goes to their rollback. */
  private async run(plan: MigrationPlan, peer: PeerClient, steps: SourceSteps, forecasting?: Promise<MigrationForecast | undefined>): Promise<MigrationResult> {
    const { host } = this.deps;
    const release = await host.beginMigrationJob(plan.uuid, 'migration out');
    const id = randomUUID();
    const startedAt = this.now();
    const active = new ActiveMigration(id, plan.uuid, plan.name, 'source', startedAt);
    active.tls = plan.tls;
    if (plan.kind === 'offline') active.job = { ...active.job, operation: 'Offline migration' };
    this.deps.active.set(plan.uuid, active);
    const log = this.deps.log.child({ vm: plan.name, migration: id, side: 'source', ...(plan.kind === 'offline' ? { offline: true } : {}) });
    this.ledger.begin(
      {
        id,
        side: 'source',
        uuid: plan.uuid,
        name: plan.name,
        phase: 'Begin',
        peer: plan.destUri,
        options: { ...plan.options },
        data: { sourceWasRunning: plan.sourceWasRunning },
      },
      { announce: plan.kind === 'live' },
    );
    const ctx: SourceContext = {
      plan,
      id,
      active,
      peer,
      log,
      startedAt,
      enter: (to, patch) => {
        this.ledger.transition(id, 'source', to, patch);
        active.enter(to);
      },
    };
    try {
      const prepared = await this.prepare(ctx, steps);
      const forecast = await this.forecastAtPerform(ctx, forecasting);
      ctx.enter('Perform', { data: { port: prepared.prepared.port, destHostId: prepared.prepared.host.hostId, ...(forecast ? { forecast } : {}) } });
      if (active.abortRequested) throw cancelledEarly();
      await steps.perform(prepared);
      ctx.enter('Finish');
      await steps.finish(prepared);
      ctx.enter('Confirm');
      await steps.confirm(prepared);
      const wallMs = this.now() - startedAt;
      active.job = { ...active.job, type: 'Completed', phase: 'Succeeded', timeElapsedMs: wallMs, percent: 100 };
      ctx.enter('Succeeded', { stats: { ...active.job } });
      this.ledger.cleanedUp(id, 'source');
      log.info(
        { wallMs, qemuTotalMs: active.job.qemuTotalTimeMs, downtimeMs: active.job.downtimeMs, disks: plan.storage?.disks.length ?? 0 },
        plan.kind === 'offline' ? 'offline migration succeeded' : 'migration succeeded',
      );
      return { id, name: plan.name, dest: plan.destUri, job: active.job, warnings: plan.warnings, wallMs };
    } catch (caught) {
      throw await steps.rollback(ctx, caught);
    } finally {
      removeNvramProbe(ctx.nvram);
      this.deps.active.delete(plan.uuid);
      release();
    }
  }

  /**
   * The forecast if its measurement is done by the time Prepare is (it ran alongside the checks and Prepare);
   * otherwise Perform starts without waiting (a converging migration is never slowed by it: QEMU samples pages
   * while it migrates) and the forecast is recorded when it arrives. KVM's dirty bitmap is waited for.
   * Recorded beside the outcome (migrate-history): what was expected of this migration.
   */
  private async forecastAtPerform(ctx: SourceContext, forecasting: Promise<MigrationForecast | undefined> | undefined): Promise<MigrationForecast | undefined> {
    if (!forecasting) return undefined;
    ctx.forecast = forecasting;
    const notYet = Symbol('not yet');
    const wait = this.deps.forecaster?.measuresBeforePerform(ctx.plan.uuid, ctx.plan.options) ?? false;
    const ready = wait ? await forecasting : await Promise.race([forecasting, Promise.resolve(notYet)]);
    const noted = (f: MigrationForecast | undefined): void => {
      if (f) ctx.log.info({ converges: f.converges, passes: f.passes, totalSeconds: f.totalSeconds, gatherMs: f.gatherMs }, 'migration forecast');
    };
    if (ready !== notYet) {
      noted(ready);
      return ready;
    }
    void forecasting.then((f) => {
      noted(f);
      try {
        if (f) this.ledger.note(ctx.id, 'source', { forecast: f });
      } catch (err) {
        ctx.log.warn({ err }, 'could not record the migration forecast');
      }
    });
    return undefined;
  }

  /** Begin's cookie (with the UEFI variable store), then Prepare on the destination; the data address is resolved from its answer, once. */
  private async prepare(ctx: SourceContext, steps: SourceSteps): Promise<PreparedContext> {
    const { host } = this.deps;
    // The UEFI variable store goes along (live, QEMU also carries the flash contents in the stream and writes them back on the destination).
    const nvram = nvramSection(steps.def, (format) => host.defaultNvramPath(ctx.plan.name, format), ctx.id);
    if (nvram) ctx.nvram = nvram;
    const cookie = buildCookie({ migrationId: ctx.id, ...steps.cookie(ctx), ...(nvram ? { nvram } : {}) });
    ctx.cookie = cookie;
    ctx.enter('Prepare');
    if (ctx.active.abortRequested) throw cancelledEarly();
    const prepared = await ctx.peer.call(PEER.prepare, { body: { cookie } }).catch((err) => {
      throw err instanceof FerryError && err.code !== 'MIG_PEER_UNREACHABLE'
        ? new FerryError(err.code, err.message, { hint: err.hint, details: { ...err.details, side: 'destination' } })
        : err;
    });
    return Object.assign(ctx, { cookie, prepared, target: dataTarget(ctx.plan, prepared, migrationHostOf(ctx.peer.address)) });
  }
}

function cancelledEarly(): FerryError {
  return new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client');
}
