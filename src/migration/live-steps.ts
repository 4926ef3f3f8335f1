import type { Logger } from 'pino';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import type { RunningDomain } from '../host/running-domain.js';
import { formatVersion } from '../qemu/binary.js';
import { DisplayMonitor } from '../qemu/display-monitor.js';
import { MigrationMonitor, type QemuMigrationInfo } from '../qemu/migration-monitor.js';
import { notDelivered, type PeerClient } from '../peer/peer-client.js';
import { migrationHostOf } from '../peer/peer-address.js';
import type { DomainDefinition } from '../vm/definition.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import type { CookieParts } from './cookie.js';
import type { FinishRequest } from './incoming-switchover.js';
import { cancelMirrors, startMirrors, waitMirrorsReady } from './disk-mirror.js';
import { followMigration } from './follow-migration.js';
import { type GraphicsTarget, parseGraphicsUri } from '../common/graphics-uri.js';
import { spiceTarget } from './graphics-uri.js';
import { Escalation, type StepState } from './policy/escalation.js';
import { downtimeVerdict } from './policy/downtime-promise.js';
import { accelOf } from './policy/policy-forecast.js';
import type { JobInfo } from '../shared/job-info.js';
import type { MigrationLedger } from './migration-ledger.js';
import type { PreparedContext, SourceContext, SourceSteps } from './migration-plan.js';
import { addMigrationTlsCreds, asTlsHandshakeError, type MigrationTlsConfig, removeMigrationTlsCreds, tlsHostnameFor, tlsParameters } from './migration-tls.js';
import { formatTcpUri } from './migration-uri.js';
import { removeSourceNvram } from './nvram-transfer.js';
import type { Phase } from './phases.js';
import { askDestinationOutcome, rollbackSource } from './source-rollback.js';
import { PostcopyControl } from './postcopy/control.js';
import { withPostcopyCapabilities } from './postcopy/preempt.js';
import { isDestinationLost, PostcopyRecovery } from './postcopy/recovery.js';
import { destinationGone, endLostPostcopy } from './postcopy/destination-lost.js';
import { PostcopyGuard } from './postcopy/safety.js';

export interface LiveStepsDeps {
  host: MigrationHost;
  ledger: MigrationLedger;
  hostId: string;
  hostname: string;
  selfPeerUri?: string | undefined;
  tls: MigrationTlsConfig;
  settings: (uuid: string) => { bandwidthMiBs: number; downtimeMs: number; downtimeExplicit?: boolean };
  onUnresolved?: ((id: string) => void) | undefined;
  /** Automatic post-copy recovery attempts after a break (migration_postcopy_recover_attempts; default 5, 0: by hand only). */
  postcopyRecoverAttempts?: number | undefined;
  /** migration_progress_timeout, in ms (0: never). */
  progressTimeoutMs?: number | undefined;
  log: Logger;
  now: () => number;
}

/**
 * A live migration's steps: QEMU streams the running VM (and mirrors its disks) in Perform, the
 * destination resumes it in Finish, and the source QEMU goes in Confirm. Any failure before the
 * destination resumes the VM rolls back to the source.
 */
export class LiveSteps implements SourceSteps {
  private spice: GraphicsTarget | undefined;
  private performStartedAt = 0;
  private result: { info: QemuMigrationInfo; postcopy: boolean } | undefined;

  constructor(
    private readonly deps: LiveStepsDeps,
    private readonly vm: RunningDomain,
  ) {}

  get def(): DomainDefinition {
    return this.vm.def;
  }

  cookie(ctx: SourceContext): Omit<CookieParts, 'migrationId' | 'nvram'> {
    const { host } = this.deps;
    const { plan } = ctx;
    const o = plan.options;
    const vm = this.vm;
    const tuning = plan.tuning ?? { capabilities: {}, sharedParameters: {} };
    return {
      domain: {
        name: vm.name,
        uuid: vm.uuid,
        xml: renderDomainXml(host.portableDefinition(vm.uuid)),
        persistentXml: host.domainRecord(vm.uuid)?.persistentXml ?? null,
      },
      source: {
        hostId: this.deps.hostId,
        hostname: this.deps.hostname,
        qemuVersion: vm.monitor.version ? formatVersion(vm.monitor.version) : 'unknown',
        accel: vm.accel ?? accelOf(vm.def.type),
        ...(this.deps.selfPeerUri ? { peerUri: this.deps.selfPeerUri } : {}),
      },
      flags: {
        live: o.live,
        offline: false,
        suspend: o.suspend,
        persistent: o.persistent,
        undefineSource: o.undefineSource,
        postcopy: o.postcopy,
        sourceWasRunning: plan.sourceWasRunning,
      },
      tuning: { capabilities: tuning.capabilities, sharedParameters: tuning.sharedParameters },
      ...(plan.storage ? { storage: { mode: plan.storage.mode, disks: plan.storage.disks } } : {}),
      ...(plan.tls ? { tls: { storage: plan.storage !== undefined } } : {}),
      ...(plan.listen ? { listen: plan.listen } : {}),
      ...(plan.tuning?.postcopyPreempt && plan.tuning.capabilities['postcopy-ram'] ? { postcopy: { preempt: true } } : {}),
    };
  }

  async perform(ctx: PreparedContext): Promise<void> {
    const { vm } = this;
    const { plan, prepared, log } = ctx;
    this.spice = vm.def.devices.graphics.some((g) => g.type === 'spice')
      ? spiceTarget(prepared.displays, migrationHostOf(ctx.peer.address), plan.options.graphicsUri ? parseGraphicsUri(plan.options.graphicsUri) : undefined)
      : undefined;
    if (this.spice) {
      // SPICE clients connect to the destination ahead of the switch (seamless migration), as libvirt's graphics relocation.
      await new DisplayMonitor(vm.monitor).clientMigrateInfo(this.spice);
      log.info({ spice: this.spice }, 'SPICE clients told where the domain goes');
    }
    this.performStartedAt = this.deps.now();
    this.result = await this.stream(ctx);
  }

  /** Storage first (mirrors in step), then QEMU's migration, followed to its end or the post-copy switch. */
  private async stream(ctx: PreparedContext): Promise<{ info: QemuMigrationInfo; postcopy: boolean }> {
    const { vm } = this;
    const { plan, active, target } = ctx;
    const tuning = plan.tuning;
    if (!tuning) throw new TypeError('a live migration plan has its tuning');
    const mm = new MigrationMonitor(vm.monitor);
    const progress = this.followArgs(ctx).onProgress;
    let mirrors: string[] = [];
    const uri = formatTcpUri(target.host, target.port);
    // TLS: this host's client credentials, for the stream, its multifd channels and the NBD connections.
    const tls = plan.tls
      ? {
          creds: await addMigrationTlsCreds(vm.monitor, {
            endpoint: 'client',
            dir: this.deps.tls.dir,
            host: this.deps.hostname,
            stage: (files) => this.deps.host.stageForQemu(vm.uuid, 'tls', files),
          }),
          hostname: tlsHostnameFor(plan.options, uri),
        }
      : undefined;
    if (plan.storage) {
      // Storage first: mirror every disk into the destination's NBD exports until they are in step.
      const { mode, disks, synchronous, speed } = plan.storage;
      mirrors = await startMirrors(vm, disks, {
        host: target.host,
        port: ctx.prepared.nbdPort ?? 0,
        mode,
        synchronous,
        ...(speed ? { speed } : {}),
        ...(tls ? { tls } : {}),
      });
      active.mirrors = mirrors;
      await waitMirrorsReady(vm, mirrors, active, progress);
    }
    // Post-copy: the return path, and preempt when the destination turned it on too (postcopy/preempt.ts).
    await mm.setCapabilities(
      withPostcopyCapabilities(tuning.capabilities, { agreed: ctx.prepared.postcopyPreempt === true, available: tuning.postcopyPreempt === true }),
    );
    if (tuning.capabilities['postcopy-ram']) active.postcopy = this.postcopyControl(ctx, mm);
    await mm.setParameters({ ...tuning.sharedParameters, ...tuning.sourceParameters, ...tlsParameters(tls) });
    if (!plan.options.live && plan.sourceWasRunning) {
      vm.expectStop('migrating');
      await vm.monitor.stop();
    }
    const events = vm.monitor.listen(['MIGRATION']);
    try {
      vm.expectStop('migrating');
      await mm.migrate(uri);
      return await followMigration({
        ...this.followArgs(ctx),
        events,
        ...(plan.policy ? { escalation: new Escalation(plan.policy), onStep: (step: StepState) => this.stepTaken(ctx, step) } : {}),
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
            this.deps.ledger.note(active.id, 'source', { lockState: active.lockState });
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

  /** The post-copy switch's safety check and the recovery of a broken post-copy, for this migration. */
  private postcopyControl(ctx: PreparedContext, mm: MigrationMonitor): PostcopyControl {
    const { active, peer, target } = ctx;
    const log = ctx.log;
    const guard = new PostcopyGuard({
      mm,
      domain: this.vm.name,
      now: this.deps.now,
      askDestination: (timeoutMs) => peer.call(PEER.status, { params: { id: active.id } }, { timeoutMs }),
    });
    const recovery = new PostcopyRecovery({
      mm,
      domain: this.vm.name,
      targetHost: target.host,
      attempts: this.deps.postcopyRecoverAttempts ?? 5,
      log,
      now: this.deps.now,
      askDestination: () => peer.call(PEER.postcopyRecover, { params: { id: active.id } }, { timeoutMs: 15_000 }),
      destinationGone: () => destinationGone(peer, active.id, this.vm.name),
    });
    return new PostcopyControl(guard, recovery, { log, rearm: () => active.requestPostcopy() });
  }

  /** A policy step: logged, and published as a migration.step event. */
  private stepTaken(ctx: SourceContext, step: Pick<StepState, 'reason' | 'pass'> & { step: StepState['step'] | 'overshoot' }): void {
    const { active, plan } = ctx;
    ctx.log.info({ migration: active.id, policy: plan.policy?.policy, step: step.step, pass: step.pass }, `policy step ${step.step}: ${step.reason}`);
    this.deps.host.publish({
      type: 'migration.step',
      id: active.id,
      uuid: active.uuid,
      name: active.name,
      policy: plan.policy?.policy ?? 'manual',
      step: step.step,
      reason: step.reason,
      pass: step.pass,
      at: this.deps.now(),
    });
  }

  private followArgs(ctx: SourceContext) {
    const { active } = ctx;
    return {
      mm: new MigrationMonitor(this.vm.monitor),
      vm: this.vm,
      active,
      options: ctx.plan.options,
      performStartedAt: this.performStartedAt,
      now: this.deps.now,
      ...(this.deps.progressTimeoutMs ? { progressTimeoutMs: this.deps.progressTimeoutMs } : {}),
      onProgress: () =>
        this.deps.host.publish({ type: 'migration.progress', id: active.id, uuid: active.uuid, name: active.name, job: active.job, at: this.deps.now() }),
    };
  }

  /**
   * Asks the destination to take over. A definite "no" rolls back; an unclear answer is resolved before the source may resume.
   * Post-copy: the source then follows QEMU until the pages are all sent.
   */
  async finish(ctx: PreparedContext): Promise<void> {
    const { vm } = this;
    const { plan, active, peer, log } = ctx;
    const result = this.result;
    if (!result) throw new TypeError('Finish before Perform');
    const rec = this.deps.host.domainRecord(vm.uuid);
    const request: FinishRequest = {
      resume: plan.sourceWasRunning && !plan.options.suspend,
      persistentXml: plan.options.persistent ? (rec?.persistentXml ?? renderDomainXml(this.deps.host.portableDefinition(vm.uuid))) : null,
      postcopy: result.postcopy,
      stats: { ...active.job },
      leases: active.lockState ?? [],
    };
    await this.askFinish(peer, active.id, request, log);
    const finalInfo = result.postcopy
      ? (await followMigration({ ...this.followArgs(ctx), events: vm.monitor.listen(['MIGRATION']), throughPostcopy: true })).info
      : result.info;
    active.job = { ...active.job, ...this.completedJob(ctx, finalInfo) };
    this.checkPromise(ctx);
  }

  /** --max-downtime: the real pause against the promise; an overshoot goes in the job (history), the log and an event. */
  private checkPromise(ctx: PreparedContext): void {
    const { active, plan, log } = ctx;
    const verdict = downtimeVerdict(plan.policy, active.job);
    active.job = { ...active.job, ...verdict.job };
    if (verdict.overshootMs === undefined) return;
    const text = `the guest was paused ${verdict.pausedMs} ms, ${verdict.overshootMs} ms more than --max-downtime ${plan.policy?.maxDowntimeMs} ms`;
    log.warn({ migration: active.id, ...verdict.job }, `downtime promise missed: ${text}`);
    this.deps.host.noteInDomainLog(this.vm.name, `migration ${active.id}: downtime promise missed: ${text}`);
    this.stepTaken(ctx, { step: 'overshoot', reason: text, pass: active.job.iteration ?? 0 });
  }

  private async askFinish(peer: PeerClient, id: string, request: FinishRequest, log: Logger): Promise<void> {
    try {
      log.debug('switchover: asking the destination to finish');
      await peer.call(PEER.finish, { params: { id }, body: request }, { timeoutMs: 60_000 });
      log.debug('switchover: the destination finished');
    } catch (err) {
      // Post-copy: the VM runs on the destination either way and never resumes here; a lost reply is asked again.
      if (request.postcopy) return this.finishPostcopyAgain(peer, { id, request, first: err, log });
      if (notDelivered(err) || (err instanceof FerryError && err.code !== 'MIG_PEER_UNREACHABLE')) throw err;
      // The request may have reached the destination: ask what happened before doing anything.
      const outcome = await askDestinationOutcome(peer, id, { maxMs: 30_000, log });
      if (outcome === 'resumed') return;
      if (outcome === 'unknown') {
        throw new FerryError(
          'MIG_OUTCOME_UNKNOWN',
          `operation failed: the destination did not say whether it resumed the domain; it stays paused here until it does (${(err as Error).message})`,
        );
      }
      throw err;
    }
  }

  /**
   * The post-copy Finish whose reply was lost (the destination's ferryd restarted, the network broke): asked
   * again until the destination answers it, for as long as a restarted ferryd needs to come back and reach its
   * QEMU (which answers only once this source serves its pages again). A definite refusal ends it.
   */
  private async finishPostcopyAgain(peer: PeerClient, a: { id: string; request: FinishRequest; first: unknown; log: Logger; maxMs?: number }): Promise<void> {
    const deadline = this.deps.now() + (a.maxMs ?? 180_000);
    let last = a.first;
    for (let attempt = 0; ; attempt++) {
      const retryable = last instanceof FerryError && (last.code === 'MIG_PEER_UNREACHABLE' || last.code === 'QEMU_UNREACHABLE');
      if (!retryable || this.deps.now() >= deadline) throw last;
      a.log.warn({ err: last, attempt }, 'post-copy: the destination did not answer Finish; asking again');
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
      try {
        await peer.call(PEER.finish, { params: { id: a.id }, body: a.request }, { timeoutMs: 60_000 });
        a.log.info({ attempt }, 'post-copy: the destination finished on a repeated Finish');
        return;
      } catch (err) {
        last = err;
      }
    }
  }

  async confirm(ctx: PreparedContext): Promise<void> {
    const { vm } = this;
    const o = ctx.plan.options;
    if (this.spice) await this.noteSpiceMoved(this.spice, ctx.log);
    await vm.destroy('migrated');
    if (o.undefineSource) this.giveUpDefinition(ctx);
  }

  /**
   * --undefinesource, once the destination owns the domain: the source's persistent definition goes, and its NVRAM
   * with it (unless the destination uses the very same file).
   */
  private giveUpDefinition(ctx: SourceContext): void {
    const rec = this.deps.host.domainRecord(this.vm.uuid);
    if (rec?.persistentXml) this.deps.host.undefineRecord(this.vm.uuid);
    if (ctx.prepared) removeSourceNvram(ctx.nvram, ctx.prepared.nvramShared);
  }

  /** What the source's SPICE server says of its clients' move (query-spice 'migrated'), in the domain log. */
  private async noteSpiceMoved(target: GraphicsTarget, log: Logger): Promise<void> {
    try {
      const info = await new DisplayMonitor(this.vm.monitor).query('spice');
      const where = `spice://${target.hostname}${target.port === undefined ? '' : `:${target.port}`}${target.tlsPort === undefined ? '' : `?tls-port=${target.tlsPort}`}`;
      this.deps.host.noteInDomainLog(
        this.vm.name,
        `SPICE migration to ${where} ${info.migrated ? 'completed' : 'not completed'} (query-spice migrated=${info.migrated === true})`,
      );
    } catch (err) {
      log.warn({ err }, 'cannot query the SPICE server after the migration');
    }
  }

  /**
   * A monitor that closed because the source QEMU died is said as that, with how it ended: before post-copy
   * nothing of the domain runs anywhere (MIG_SOURCE_CRASHED); in post-copy the pages the source had not sent are
   * lost with it, and the domain is paused on the destination (MIG_POSTCOPY_FAILED: it never resumes here).
   */
  private async sourceCrashed(err: unknown, postcopy: boolean): Promise<unknown> {
    if (!(err instanceof FerryError && err.code === 'QMP_DISCONNECTED') || !(await this.vm.process.waitExit(2000))) return err;
    const exit = this.vm.process.exit;
    const how = exit?.signal ? `killed by ${exit.signal}` : typeof exit?.code === 'number' ? `exit status ${exit.code}` : 'how is not known';
    if (postcopy) {
      return new FerryError(
        'MIG_POSTCOPY_FAILED',
        `operation failed: the source QEMU of domain '${this.vm.name}' exited during post-copy (${how}): the memory it had not sent yet is lost; the domain is paused (post-copy failed) on the destination and cannot run on the source`,
        { cause: err },
      );
    }
    return new FerryError(
      'MIG_SOURCE_CRASHED',
      `operation failed: the source QEMU of domain '${this.vm.name}' exited during the migration (${how}); the domain is shut off (crashed) and nothing of it runs on the destination`,
      { cause: err },
    );
  }

  /**
   * The source QEMU died after the switch to post-copy: nothing is left here to resume or to keep. If the
   * destination resumed the domain (its Finish saved the definition), it owns the domain now: with
   * --undefinesource the source's definition goes, as Confirm would, so exactly one host defines it.
   */
  private async handOverDefinition(ctx: SourceContext): Promise<void> {
    const { active, peer, log } = ctx;
    if (!peer || !ctx.plan.options.undefineSource) return;
    const outcome = await askDestinationOutcome(peer, active.id, { maxMs: 10_000, log });
    if (outcome !== 'resumed') {
      log.warn({ outcome }, 'post-copy failed with the source QEMU gone; the destination does not say it resumed the domain: its definition stays here');
      return;
    }
    this.giveUpDefinition(ctx);
    log.warn('post-copy failed with the source QEMU gone: the destination holds the domain, its definition here is removed (--undefinesource)');
  }

  async rollback(ctx: SourceContext, caught: unknown): Promise<unknown> {
    const { vm } = this;
    const { active, peer, log } = ctx;
    const err = await this.sourceCrashed(active.tls ? asTlsHandshakeError(caught) : caught, active.postcopyStarted);
    log.warn({ err, phase: active.phase }, 'migration failed; rolling back');
    const cancelCodes = ['MIG_CANCELLED', 'MIG_TIMEOUT', 'MIG_NOT_CONVERGING', 'MIG_DOWNTIME_UNREACHABLE'];
    const outcome: Phase = err instanceof FerryError && cancelCodes.includes(err.code) ? 'Cancelled' : 'Failed';
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof FerryError && err.code === 'MIG_OUTCOME_UNKNOWN') {
      // Neither side may resume until the destination answers; recovery keeps asking.
      this.deps.onUnresolved?.(active.id);
      return err;
    }
    active.job = {
      ...active.job,
      type: outcome === 'Cancelled' ? 'Cancelled' : 'Failed',
      phase: outcome,
      error: message,
      timeElapsedMs: this.deps.now() - active.startedAt,
    };
    ctx.enter(outcome, { stats: { ...active.job }, error: message });
    if (isDestinationLost(err)) {
      const lost = await endLostPostcopy({
        vm,
        name: vm.name,
        id: active.id,
        peer,
        destUri: ctx.plan.destUri,
        persistent: ctx.plan.options.persistent,
        undefineSource: ctx.plan.options.undefineSource,
        undefineHere: () => this.giveUpDefinition(ctx),
        definedHere: () => Boolean(this.deps.host.domainRecord(vm.uuid)?.persistentXml),
        cause: err,
        log,
      });
      active.job = { ...active.job, error: lost.message };
      this.deps.ledger.cleanedUp(active.id, 'source');
      return lost;
    }
    if (err instanceof FerryError && err.code === 'MIG_POSTCOPY_FAILED') {
      // After the switch the source must never resume (invariant 4).
      if (vm.process.exited) await this.handOverDefinition(ctx);
      this.deps.ledger.cleanedUp(active.id, 'source');
      return err;
    }
    if (active.mirrors.length > 0) {
      await cancelMirrors(vm, active.mirrors, { force: true }).catch((e: unknown) => log.warn({ err: e }, 'cannot cancel the disk mirrors'));
      active.mirrors = [];
    }
    const lockState = active.lockState;
    const reacquire =
      lockState && lockState.length > 0 ? () => this.deps.host.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, lockState) : undefined;
    const whole = await rollbackSource({ vm, peer, id: active.id, sourceWasRunning: ctx.plan.sourceWasRunning, log, ...(reacquire ? { reacquire } : {}) });
    // The migration is cancelled: the credentials go, so the next migration of this QEMU starts clean.
    if (active.tls) await removeMigrationTlsCreds(vm.monitor).catch((e: unknown) => log.warn({ err: e }, 'cannot remove the TLS credentials'));
    if (whole) this.deps.ledger.cleanedUp(active.id, 'source');
    return err;
  }

  private completedJob(ctx: SourceContext, info: QemuMigrationInfo): Partial<JobInfo> {
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
    j.timeElapsedMs = this.deps.now() - ctx.active.startedAt;
    return j;
  }
}
