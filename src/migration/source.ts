import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import type { RunningDomain } from '../host/running-domain.js';
import { formatVersion } from '../qemu/binary.js';
import { MigrationMonitor, type QemuMigrationInfo } from '../qemu/migration-monitor.js';
import { notDelivered, type PeerClient } from '../peer/peer-client.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import { migrationHostOf } from '../peer/peer-address.js';
import { migrateUriPort, migrationDataHost } from './data-host.js';
import type { MigrationStore } from '../store/migration-store.js';
import { isWritableDisk } from '../vm/definition.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import { ActiveMigration } from './active-migration.js';
import type { MigrationCookie } from './cookie.js';
import { type NvramSection, nvramSection, removeNvramProbe, removeSourceNvram } from './nvram-transfer.js';
import type { FinishRequest, PrepareResult } from './destination.js';
import { DisplayMonitor } from '../qemu/display-monitor.js';
import { type GraphicsTarget, parseGraphicsUri, spiceTarget } from './graphics-uri.js';
import { followMigration } from './follow-migration.js';
import { askDestinationOutcome, rollbackSource } from './source-rollback.js';
import type { CommandRunner } from '../storage/command-runner.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import { type DiskCopy, planDiskCopies } from './disk-plan.js';
import { cancelMirrors, startMirrors, waitMirrorsReady } from './disk-mirror.js';
import { migrateOffline } from './offline-source.js';
import { addMigrationTlsCreds, asTlsHandshakeError, type MigrationTlsConfig, removeMigrationTlsCreds, tlsHostnameFor, tlsParameters, tlsWanted } from './migration-tls.js';
import { PreflightService } from '../preflight/preflight-service.js';
import type { JobInfo } from './job-info.js';
import { mibsToBytes, migrationTuning, type MigrationOptions, type MigrationTuning } from './options.js';
import type { Phase } from './phases.js';
import { recordSourcePhase } from './phase-recorder.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';


export interface SourceDeps {
  host: MigrationHost;
  preflight: PreflightService;
  migrations: MigrationStore;
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
  active: Map<string, ActiveMigration>;
  /** Called when a migration's outcome could not be learned from the destination (recovery takes over). */
  onUnresolved?: (id: string) => void;
  /** Where finished migrations are counted (ferry_migrations_total and the histograms). */
  metrics?: MigrationMetrics;
  log: Logger;
  now?: () => number;
}

export interface MigrationResult {
  id: string;
  name: string;
  dest: string;
  job: JobInfo;
  warnings: string[];
  /** ferry's wall time from Begin to the end of Confirm. */
  wallMs: number;
}

/** Checks that refuse a migration before anything moves (the unsafe cache check, live-blocking devices). */
export function checkMigratable(vm: RunningDomain, o: MigrationOptions): void {
  if (o.live && vm.def.devices.hostdevs.length > 0) {
    const h = vm.def.devices.hostdevs[0];
    throw new FerryError('MIG_UNSUPPORTED_DEVICE', `Requested operation is not valid: domain has an assigned ${h?.type.toUpperCase()} host device (${h?.address}) and cannot be migrated live`);
  }
  // As libvirt: a <transient/> disk's overlay is this host's own, discarded at stop; it does not move.
  const transient = vm.def.devices.disks.find((d) => d.transient);
  if (transient) {
    throw new FerryError('MIG_UNSUPPORTED_DEVICE', `Requested operation is not valid: migration with transient disk '${transient.target.dev}' is not supported`, {
      details: { disk: transient.target.dev },
      hint: 'Shut the domain down and migrate it offline (--offline --persistent): the transient disk starts afresh from its image there',
    });
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
 * The source side of a peer-to-peer migration (libvirt's v3 protocol, driven
 * by this ferryd): Begin, Prepare on the destination, Perform, Finish on the
 * destination, Confirm. Every phase is recorded before it acts; any failure
 * before the destination resumes the VM rolls back to the source.
 */
export class MigrationSource {
  private readonly now: () => number;

  constructor(private readonly deps: SourceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async migrate(ref: string, destUri: string, options: MigrationOptions): Promise<MigrationResult> {
    if (options.offline) {
      if (tlsWanted(options, this.deps.tls) && options.copyStorage !== 'none') {
        throw new FerryError('NOT_SUPPORTED', 'this function is not supported by the connection driver: an offline disk copy cannot be encrypted (--tls or migrate_tls_force)', {
          hint: 'Copy the disks live instead (start the domain, then "ferry migrate --live --copy-storage-all --tls"), or put them on storage both hosts share',
        });
      }
      const report = await this.deps.preflight.run(ref, destUri, options);
      PreflightService.assertPassed(report);
      const r = await migrateOffline({ ...this.deps, now: this.now }, ref, destUri, options);
      return { ...r, warnings: [...report.warnings.map((w) => w.reason), ...r.warnings] };
    }
    const { host } = this.deps;
    const rec = host.lookup(ref);
    const vm = host.runningDomain(rec.uuid);
    if (!vm) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
    const peer = this.deps.peers.client(destUri);
    checkMigratable(vm, options);
    // Every requirement, checked before anything moves; all failures at once.
    const report = await this.deps.preflight.run(ref, destUri, options);
    PreflightService.assertPassed(report);
    const tuning = migrationTuning(options, this.deps.settings(vm.uuid), { leaseHandover: host.leasesEnabled() });
    const warnings = report.warnings.map((w) => w.reason);
    const disks = options.copyStorage === 'none' ? [] : await planDiskCopies(this.deps.host.portableDefinition(vm.uuid), options.migrateDisks ? { migrateDisks: options.migrateDisks } : {}, this.deps);
    if (options.copyStorage !== 'none' && disks.length === 0) {
      throw new FerryError('INVALID_ARGUMENT', 'invalid argument: --copy-storage-* given, but the domain has no local writable disk to copy');
    }

    if (options.graphicsUri) parseGraphicsUri(options.graphicsUri); // refused before anything starts
    const release = await host.beginMigrationJob(vm.uuid, 'migration out');
    const id = randomUUID();
    const startedAt = this.now();
    const active = new ActiveMigration(id, vm.uuid, vm.name, 'source', startedAt);
    active.tls = tlsWanted(options, this.deps.tls);
    this.deps.active.set(vm.uuid, active);
    const log = this.deps.log.child({ vm: vm.name, migration: id, side: 'source' });
    const sourceWasRunning = vm.status.state === 'running';
    this.deps.migrations.create({
      id, side: 'source', uuid: vm.uuid, name: vm.name, phase: 'Begin', peer: destUri,
      options: { ...options }, data: { sourceWasRunning },
    });
    this.publishPhase(active, 'Begin', 'Begin');
    let nvram: NvramSection | undefined;
    try {
      const cookie = this.buildCookie(id, vm, options, tuning, sourceWasRunning, disks);
      // The UEFI variable store goes along (QEMU also carries the flash contents in the stream and writes them back on the destination).
      nvram = nvramSection(vm.def, (format) => this.deps.host.defaultNvramPath(vm.name, format), id);
      if (nvram) {
        cookie.nvram = nvram;
        cookie.mandatory.push('nvram');
      }
      if (active.tls) {
        cookie.tls = { storage: disks.length > 0 };
        cookie.mandatory.push('tls');
      }
      this.setPhase(active, 'Prepare');
      if (active.abortRequested) throw cancelledEarly();
      const prepared = await peer.post<PrepareResult>('/peer/v1/migrations/prepare', { cookie }).catch((err) => {
        throw err instanceof FerryError && err.code !== 'MIG_PEER_UNREACHABLE'
          ? new FerryError(err.code, err.message, { hint: err.hint, details: { ...err.details, side: 'destination' } })
          : err;
      });
      this.setPhase(active, 'Perform', { port: prepared.port, destHostId: prepared.host.hostId });
      if (active.abortRequested) throw cancelledEarly();
      const spice = vm.def.devices.graphics.some((g) => g.type === 'spice')
        ? spiceTarget(prepared.displays, migrationHostOf(peer.address), options.graphicsUri ? parseGraphicsUri(options.graphicsUri) : undefined)
        : undefined;
      if (spice) {
        // SPICE clients connect to the destination ahead of the switch (seamless migration), as libvirt's graphics relocation.
        await new DisplayMonitor(vm.monitor).clientMigrateInfo(spice);
        log.info({ spice }, 'SPICE clients told where the domain goes');
      }
      const performStartedAt = this.now();
      const dataHost = migrationDataHost(options, prepared.connectHost, migrationHostOf(peer.address));
      const result = await this.perform(vm, active, options, tuning, migrationUriFor(options, dataHost, prepared.port), performStartedAt, sourceWasRunning, {
        disks, nbdHost: dataHost, nbdPort: prepared.nbdPort ?? 0,
      });
      await this.finish(vm, active, peer, options, result.postcopy, sourceWasRunning, log);
      const finalInfo = result.postcopy
        ? (await followMigration({ ...this.followArgs(vm, active, options, performStartedAt), events: vm.monitor.listen(['MIGRATION']), throughPostcopy: true })).info
        : result.info;
      active.job = { ...active.job, ...this.completedJob(active, finalInfo) };
      this.setPhase(active, 'Confirm');
      if (spice) await this.noteSpiceMoved(vm, spice, log);
      await this.confirm(vm, options);
      if (options.undefineSource) removeSourceNvram(nvram, prepared.nvramShared);
      const wallMs = this.now() - startedAt;
      active.job = { ...active.job, type: 'Completed', phase: 'Succeeded', timeElapsedMs: wallMs, percent: 100 };
      this.setPhase(active, 'Succeeded', {}, { ...active.job });
      this.deps.migrations.markCleanupDone(id, 'source');
      log.info({ wallMs, qemuTotalMs: active.job.qemuTotalTimeMs, downtimeMs: active.job.downtimeMs }, 'migration succeeded');
      return { id, name: vm.name, dest: destUri, job: active.job, warnings, wallMs };
    } catch (caught) {
      const err = active.tls ? asTlsHandshakeError(caught) : caught;
      log.warn({ err, phase: active.phase }, 'migration failed; rolling back');
      await this.rollback(vm, active, peer, sourceWasRunning, err, log);
      throw err;
    } finally {
      removeNvramProbe(nvram);
      this.deps.active.delete(vm.uuid);
      release();
    }
  }

  private async perform(
    vm: RunningDomain,
    active: ActiveMigration,
    options: MigrationOptions,
    tuning: MigrationTuning,
    uri: string,
    performStartedAt: number,
    sourceWasRunning: boolean,
    storage: { disks: DiskCopy[]; nbdHost: string; nbdPort: number },
  ): Promise<{ info: QemuMigrationInfo; postcopy: boolean }> {
    const mm = new MigrationMonitor(vm.monitor);
    const progress = this.followArgs(vm, active, options, performStartedAt).onProgress;
    let mirrors: string[] = [];
    // TLS: this host's client credentials, for the stream, its multifd channels and the NBD connections.
    const tls = active.tls
      ? { creds: await addMigrationTlsCreds(vm.monitor, { endpoint: 'client', dir: this.deps.tls.dir, host: this.deps.hostname, stage: (files) => this.deps.host.stageForQemu(vm.uuid, 'tls', files) }), hostname: tlsHostnameFor(options, uri) }
      : undefined;
    if (storage.disks.length > 0) {
      // Storage first: mirror every disk into the destination's NBD exports until they are in step.
      mirrors = await startMirrors(vm, storage.disks, { host: storage.nbdHost, port: storage.nbdPort, mode: options.copyStorage === 'inc' ? 'inc' : 'all', synchronous: options.copyStorageSynchronousWrites,
        ...(options.bandwidth ? { speed: mibsToBytes(options.bandwidth) } : {}), ...(tls ? { tls } : {}) });
      active.mirrors = mirrors;
      await waitMirrorsReady(vm, mirrors, active, progress);
    }
    await mm.setCapabilities(tuning.capabilities);
    await mm.setParameters({ ...tuning.sharedParameters, ...tuning.sourceParameters, ...tlsParameters(tls) });
    if (!options.live && sourceWasRunning) {
      vm.expectStop('migrating');
      await vm.monitor.stop();
    }
    const events = vm.monitor.listen(['MIGRATION']);
    try {
      vm.expectStop('migrating');
      await mm.migrate(uri);
      return await followMigration({
        ...this.followArgs(vm, active, options, performStartedAt),
        events,
        ...(tuning.downtimeSteps ? { downtimeSteps: tuning.downtimeSteps } : {}),
        // The source is stopped here: finish the disk mirrors (they are in step) and give up the
        // disk leases for the destination, then let QEMU switch over.
        onPreSwitchover: async () => {
          this.deps.log.debug({ migration: active.id }, 'switchover: source paused at pre-switchover');
          if (mirrors.length > 0) {
            await cancelMirrors(vm, mirrors, { force: false });
            active.mirrors = [];
          }
          if (this.deps.host.leasesEnabled()) {
            active.lockState = await this.deps.host.handOverLeases(vm.uuid);
            this.deps.migrations.updateData(active.id, 'source', { lockState: active.lockState });
          }
          this.deps.log.debug({ migration: active.id }, 'switchover: leases released, continuing');
        },
      });
    } catch (err) {
      // The domain stays here: its limit goes back to the one migrate-getmaxdowntime reports.
      if (tuning.downtimeSteps) await mm.setParameters({ 'downtime-limit': this.deps.settings(vm.uuid).downtimeMs }).catch(() => undefined);
      throw err;
    } finally {
      events.close();
    }
  }

  private followArgs(vm: RunningDomain, active: ActiveMigration, options: MigrationOptions, performStartedAt: number) {
    return {
      mm: new MigrationMonitor(vm.monitor),
      vm,
      active,
      options,
      performStartedAt,
      now: this.now,
      onProgress: () =>
        this.deps.host.publish({ type: 'migration.progress', id: active.id, uuid: active.uuid, name: active.name, job: active.job, at: this.now() }),
    };
  }

  /** Asks the destination to take over. A definite "no" rolls back; an unclear answer is resolved before the source may resume. */
  private async finish(vm: RunningDomain, active: ActiveMigration, peer: PeerClient, options: MigrationOptions, postcopy: boolean, sourceWasRunning: boolean, log: Logger): Promise<void> {
    this.setPhase(active, 'Finish');
    const rec = this.deps.host.domainRecord(vm.uuid);
    const request: FinishRequest = {
      resume: sourceWasRunning && !options.suspend,
      persistentXml: options.persistent ? rec?.persistentXml ?? renderDomainXml(this.deps.host.portableDefinition(vm.uuid)) : null,
      postcopy,
      stats: { ...active.job },
      leases: active.lockState ?? [],
    };
    try {
      log.debug('switchover: asking the destination to finish');
      await peer.post(`/peer/v1/migrations/${active.id}/finish`, request, { timeoutMs: 60_000 });
      log.debug('switchover: the destination finished');
    } catch (err) {
      // Post-copy: the VM runs on the destination either way and never resumes here; a lost reply is asked again.
      if (postcopy) return this.finishPostcopyAgain(peer, active, request, err, log);
      if (notDelivered(err) || (err instanceof FerryError && err.code !== 'MIG_PEER_UNREACHABLE')) throw err;
      // The request may have reached the destination: ask what happened before doing anything.
      const outcome = await this.askDestination(peer, active.id, log);
      if (outcome === 'resumed') return;
      if (outcome === 'unknown') {
        throw new FerryError('MIG_OUTCOME_UNKNOWN', `operation failed: the destination did not say whether it resumed the domain; it stays paused here until it does (${(err as Error).message})`);
      }
      throw err;
    }
  }

  /**
   * The post-copy Finish whose reply was lost (the destination's ferryd restarted, the network broke): asked
   * again until the destination answers it, for as long as a restarted ferryd needs to come back and reach its
   * QEMU (which answers only once this source serves its pages again). A definite refusal ends it.
   */
  private async finishPostcopyAgain(peer: PeerClient, active: ActiveMigration, request: FinishRequest, first: unknown, log: Logger, maxMs = 180_000): Promise<void> {
    const deadline = this.now() + maxMs;
    let last = first;
    for (let attempt = 0; ; attempt++) {
      const retryable = last instanceof FerryError && (last.code === 'MIG_PEER_UNREACHABLE' || last.code === 'QEMU_UNREACHABLE');
      if (!retryable || this.now() >= deadline) throw last;
      log.warn({ err: last, attempt }, 'post-copy: the destination did not answer Finish; asking again');
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
      try {
        await peer.post(`/peer/v1/migrations/${active.id}/finish`, request, { timeoutMs: 60_000 });
        log.info({ attempt }, 'post-copy: the destination finished on a repeated Finish');
        return;
      } catch (err) {
        last = err;
      }
    }
  }

  private async askDestination(peer: PeerClient, id: string, log: Logger): Promise<'resumed' | 'not-resumed' | 'unknown'> {
    const outcome = await askDestinationOutcome(peer, id, { maxMs: 30_000, log });
    return outcome;
  }

  /** What the source's SPICE server says of its clients' move (query-spice 'migrated'), in the domain log. */
  private async noteSpiceMoved(vm: RunningDomain, target: GraphicsTarget, log: Logger): Promise<void> {
    try {
      const info = await new DisplayMonitor(vm.monitor).query('spice');
      this.deps.host.noteInDomainLog(vm.name, `SPICE migration to spice://${target.hostname}${target.port === undefined ? '' : `:${target.port}`}${target.tlsPort === undefined ? '' : `?tls-port=${target.tlsPort}`} ${info.migrated ? 'completed' : 'not completed'} (query-spice migrated=${info.migrated === true})`);
    } catch (err) {
      log.warn({ err }, 'cannot query the SPICE server after the migration');
    }
  }

  private async confirm(vm: RunningDomain, options: MigrationOptions): Promise<void> {
    await vm.destroy('migrated');
    if (options.undefineSource) {
      const rec = this.deps.host.domainRecord(vm.uuid);
      if (rec?.persistentXml) this.deps.host.undefineRecord(vm.uuid);
    }
  }

  private async rollback(vm: RunningDomain, active: ActiveMigration, peer: PeerClient, sourceWasRunning: boolean, err: unknown, log: Logger): Promise<void> {
    const outcome: Phase = err instanceof FerryError && (err.code === 'MIG_CANCELLED' || err.code === 'MIG_TIMEOUT') ? 'Cancelled' : 'Failed';
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof FerryError && err.code === 'MIG_OUTCOME_UNKNOWN') {
      // Neither side may resume until the destination answers; recovery keeps asking.
      this.deps.onUnresolved?.(active.id);
      return;
    }
    active.job = { ...active.job, type: outcome === 'Cancelled' ? 'Cancelled' : 'Failed', phase: outcome, error: message, timeElapsedMs: this.now() - active.startedAt };
    this.setPhase(active, outcome, {}, { ...active.job }, message);
    if (err instanceof FerryError && err.code === 'MIG_POSTCOPY_FAILED') {
      // After the switch the source must never resume (invariant 4).
      this.deps.migrations.markCleanupDone(active.id, 'source');
      return;
    }
    if (active.mirrors.length > 0) {
      await cancelMirrors(vm, active.mirrors, { force: true }).catch((e: unknown) => log.warn({ err: e }, 'cannot cancel the disk mirrors'));
      active.mirrors = [];
    }
    const lockState = active.lockState;
    const reacquire = lockState && lockState.length > 0
      ? () => this.deps.host.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, lockState)
      : undefined;
    const whole = await rollbackSource({ vm, peer, id: active.id, sourceWasRunning, log, ...(reacquire ? { reacquire } : {}) });
    // The migration is cancelled: the credentials go, so the next migration of this QEMU starts clean.
    if (active.tls) await removeMigrationTlsCreds(vm.monitor).catch((e: unknown) => log.warn({ err: e }, 'cannot remove the TLS credentials'));
    if (whole) this.deps.migrations.markCleanupDone(active.id, 'source');
  }

  private buildCookie(id: string, vm: RunningDomain, o: MigrationOptions, tuning: MigrationTuning, sourceWasRunning: boolean, disks: DiskCopy[]): MigrationCookie {
    const rec = this.deps.host.domainRecord(vm.uuid);
    const cookie: MigrationCookie = {
      version: 1,
      migrationId: id,
      mandatory: disks.length > 0 ? ['domain', 'flags', 'tuning', 'storage'] : ['domain', 'flags', 'tuning'],
      domain: { name: vm.name, uuid: vm.uuid, xml: renderDomainXml(this.deps.host.portableDefinition(vm.uuid)), persistentXml: rec?.persistentXml ?? null },
      source: {
        hostId: this.deps.hostId,
        hostname: this.deps.hostname,
        qemuVersion: vm.monitor.version ? formatVersion(vm.monitor.version) : 'unknown',
        accel: vm.def.type === 'qemu' ? 'tcg' : 'kvm',
        ...(this.deps.selfPeerUri ? { peerUri: this.deps.selfPeerUri } : {}),
      },
      flags: { live: o.live, offline: false, suspend: o.suspend, persistent: o.persistent, undefineSource: o.undefineSource, postcopy: o.postcopy, sourceWasRunning },
      tuning: { capabilities: tuning.capabilities, sharedParameters: tuning.sharedParameters },
      ...(disks.length > 0 ? { storage: { mode: o.copyStorage === 'inc' ? 'inc' as const : 'all' as const, disks } } : {}),
    };
    const listen = listenFor(o);
    if (listen) cookie.listen = listen;
    return cookie;
  }

  private completedJob(active: ActiveMigration, info: import('../qemu/migration-monitor.js').QemuMigrationInfo): Partial<JobInfo> {
    const j: Partial<JobInfo> = { type: 'Completed', status: info.status ?? 'completed', percent: 100 };
    if (info.downtime !== undefined) j.downtimeMs = info.downtime;
    if (info['total-time'] !== undefined) j.qemuTotalTimeMs = info['total-time'];
    if (info.ram) {
      j.dataProcessed = info.ram.transferred;
      j.dataRemaining = info.ram.remaining;
      j.dataTotal = info.ram.total;
      j.iteration = info.ram['dirty-sync-count'];
      j.memoryBandwidth = Math.round((info.ram.mbps * 1e6) / 8);
    }
    if (info['setup-time'] !== undefined) j.setupTimeMs = info['setup-time'];
    j.timeElapsedMs = this.now() - active.startedAt;
    return j;
  }

  private setPhase(active: ActiveMigration, to: Phase, data: Record<string, unknown> = {}, stats?: Record<string, unknown>, error?: string): void {
    recordSourcePhase({ host: this.deps.host, migrations: this.deps.migrations, now: this.now, metrics: this.deps.metrics }, active, to, { data, ...(stats ? { stats } : {}), ...(error ? { error } : {}) });
  }

  private publishPhase(active: ActiveMigration, from: Phase, to: Phase): void {
    this.deps.host.publish({ type: 'migration.phase', id: active.id, uuid: active.uuid, name: active.name, side: 'source', from, to, at: this.now() });
  }
}

function cancelledEarly(): FerryError {
  return new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client');
}

/** The QEMU migration URI on the source: --migrateuri wins, else the data host (migrationDataHost()) and the port the destination chose. */
export function migrationUriFor(o: MigrationOptions, dataHost: string, port: number): string {
  if (o.migrateUri) {
    const m = /^tcp:(?:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/.exec(o.migrateUri);
    if (!m) throw new FerryError('INVALID_ARGUMENT', `invalid argument: unsupported migration URI '${o.migrateUri}' (use tcp://host[:port])`);
    return `tcp:${m[1]}:${m[2] ?? port}`;
  }
  return `tcp:${dataHost.includes(':') ? `[${dataHost}]` : dataHost}:${port}`;
}

function listenFor(o: MigrationOptions): MigrationCookie['listen'] | undefined {
  const listen: NonNullable<MigrationCookie['listen']> = {};
  if (o.listenAddress) listen.address = o.listenAddress;
  const port = migrateUriPort(o.migrateUri);
  if (port !== undefined) listen.port = port;
  return Object.keys(listen).length > 0 ? listen : undefined;
}
