import { FerryError } from '../errors/ferry-error.js';
import type { RunningDomain } from '../host/running-domain.js';
import type { MigrationMonitor, QemuMigrationInfo } from '../qemu/migration-monitor.js';
import type { QmpEventListener } from '../qmp/events.js';
import type { ActiveMigration } from './active-migration.js';
import { jobInfoFromQemu } from './job-info.js';
import type { JobInfo } from '../shared/job-info.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import type { Escalation, StepState } from './policy/escalation.js';

export interface FollowArgs {
  mm: MigrationMonitor;
  vm: RunningDomain;
  active: ActiveMigration;
  options: MigrationOptions;
  /** MIGRATION events, registered before `migrate` was sent. */
  events: QmpEventListener;
  /** When Perform started (ferry's clock), for --timeout. */
  performStartedAt: number;
  onProgress: () => void;
  now: () => number;
  pollMs?: number;
  /** Keep following after post-copy started (until QEMU says completed). */
  throughPostcopy?: boolean;
  /** With pause-before-switchover: runs while the source is stopped, then QEMU is told to continue. */
  onPreSwitchover?: () => Promise<void>;
  /** The policy's escalation (PolicyPlan): the downtime ramp, then its steps, driven by stalled passes and the deadline. */
  escalation?: Escalation;
  /** Each step the escalation takes (the migration.step event). */
  onStep?: (step: StepState) => void;
  /**
   * migration_progress_timeout: how long QEMU may move no data while it says it is migrating. Then a pre-copy is
   * aborted (MIG_NO_PROGRESS) and a post-copy paused (migrate-pause), so its recovery reconnects. Undefined: never.
   */
  progressTimeoutMs?: number;
}

export interface FollowResult {
  info: QemuMigrationInfo;
  /** True when the migration switched to post-copy and this call returned at the switch. */
  postcopy: boolean;
}

/**
 * Follows a running migration on the source until QEMU completes it (or,
 * for post-copy, until the switch). Applies job control as it goes: abort,
 * a switch to post-copy, and the --timeout action (abort, suspend or
 * post-copy). MIGRATION events wake it at once; query-migrate fills in the
 * statistics between them.
 */
export async function followMigration(a: FollowArgs): Promise<FollowResult> {
  const pollMs = a.pollMs ?? 100;
  let timeoutFired = false;
  let cancelSent = false;
  let switchedOver = false;
  let cancelReason: 'user' | 'timeout' | 'io-error' | 'policy' | 'no-progress' | undefined;
  let policyError: FerryError | undefined;
  const progress = new ProgressWatch(a.now);
  for (;;) {
    const info = await a.mm.query();
    const disk = a.active.job;
    a.active.job = jobInfoFromQemu(info, {
      operation: 'Outgoing migration',
      phase: a.active.phase,
      startedAt: a.active.startedAt,
      now: a.now(),
    });
    if (disk.diskTotal !== undefined) {
      a.active.job = { ...a.active.job, diskTotal: disk.diskTotal, diskProcessed: disk.diskTotal, diskRemaining: 0 };
    }
    a.active.job = { ...a.active.job, ...(a.escalation ? policyFields(a.escalation) : carriedPolicyFields(disk)) };
    a.onProgress();
    switch (info.status) {
      case 'completed':
        if (a.active.pausedAt !== undefined) a.active.job = { ...a.active.job, pausedMs: a.now() - a.active.pausedAt };
        return { info, postcopy: a.active.postcopyStarted };
      case 'failed':
        if (a.active.postcopyStarted) throw postcopyFailed(info);
        throw new FerryError('MIG_FAILED', `operation failed: migration failed: ${info['error-desc'] ?? 'QEMU did not say why'}`);
      case 'cancelled':
        throw policyError ?? cancelled(cancelReason, a.options);
      case 'postcopy-active':
        a.active.postcopy?.onRunning();
        if (!a.active.postcopyStarted) {
          a.active.postcopyStarted = true;
          if (!a.throughPostcopy) return { info, postcopy: true };
        }
        break;
      case 'pre-switchover':
        // QEMU leaves this state a moment after migrate-continue: act on it once.
        if (!switchedOver) {
          switchedOver = true;
          if (a.onPreSwitchover) await a.onPreSwitchover();
          await a.mm.continueFromPreSwitchover();
          continue;
        }
        break;
      case 'postcopy-paused':
      case 'postcopy-recover-setup':
      case 'postcopy-recover':
        // The connection broke after the switch: neither side may give up (postcopy/recovery.ts).
        if (!a.active.postcopy) throw postcopyFailed(info);
        if (!a.active.postcopyStarted) {
          a.active.postcopyStarted = true;
          if (!a.throughPostcopy) return { info, postcopy: true };
        }
        a.active.job = { ...a.active.job, postcopy: await a.active.postcopy.onPaused(info) };
        a.onProgress();
        break;
      default:
        break;
    }

    if (a.progressTimeoutMs !== undefined && progress.stuckFor(info) >= a.progressTimeoutMs) {
      progress.reset();
      if (info.status === 'active' && !cancelSent) {
        cancelReason = 'no-progress';
        policyError = noProgress(a.progressTimeoutMs);
        cancelSent = true;
        await a.mm.cancel();
      } else if (info.status === 'postcopy-active') {
        // Post-copy cannot be aborted: break the stalled connection, so QEMU pauses and the recovery reconnects.
        a.active.job = {
          ...a.active.job,
          postcopy: `no data moved for ${Math.round(a.progressTimeoutMs / 1000)} s: the connection is broken off to recover it`,
        };
        a.onProgress();
        await a.mm.pause().catch(() => undefined);
        continue;
      }
    }

    if (a.escalation && !a.active.postcopyStarted && !cancelSent && info.status === 'active') {
      const taken = a.escalation.steps.length;
      const act = a.escalation.observe({
        status: info.status,
        pass: info.ram?.['dirty-sync-count'] ?? 1,
        remaining: info.ram?.remaining ?? 0,
        ...(info['expected-downtime'] !== undefined ? { expectedDowntimeMs: info['expected-downtime'] } : {}),
        ...passRates(info),
        elapsedMs: a.now() - a.performStartedAt,
      });
      for (const step of a.escalation.steps.slice(taken)) a.onStep?.(step);
      a.active.job = { ...a.active.job, ...policyFields(a.escalation) };
      if (act?.kind === 'downtime' && !a.active.downtimePinned) await a.mm.setParameters({ 'downtime-limit': act.ms });
      if (act?.kind === 'post-copy') a.active.postcopyRequested = true;
      if (act?.kind === 'suspend') {
        // The last pass runs with the guest paused; QEMU switches over once what is left fits the pause.
        await a.mm.setParameters({ 'downtime-limit': act.downtimeMs });
        if (a.vm.status.state === 'running') {
          a.vm.expectStop('migrating');
          await a.vm.monitor.stop();
          a.active.pausedAt = a.now();
        }
      }
      if (act?.kind === 'abort') {
        cancelReason = 'policy';
        policyError = act.error;
        cancelSent = true;
        await a.mm.cancel();
      }
    }

    if (!a.active.postcopyStarted) {
      if (a.active.abortRequested && !cancelSent) {
        cancelReason = 'user';
        cancelSent = true;
        await a.mm.cancel();
      }
      if (a.options.abortOnError && !cancelSent && a.vm.status.state === 'paused' && a.vm.status.reason === 'I/O error') {
        cancelReason = 'io-error';
        cancelSent = true;
        await a.mm.cancel();
      }
      if (a.options.timeout !== undefined && !timeoutFired && a.now() - a.performStartedAt >= a.options.timeout * 1000) {
        timeoutFired = true;
        if (a.options.timeoutAction === 'abort' && !cancelSent) {
          cancelReason = 'timeout';
          cancelSent = true;
          await a.mm.cancel();
        } else if (a.options.timeoutAction === 'suspend' && a.vm.status.state === 'running') {
          a.vm.expectStop('migrating');
          await a.vm.monitor.stop();
        } else if (a.options.timeoutAction === 'postcopy') {
          a.active.postcopyRequested = true;
        }
      }
      if (a.options.postcopyAfterPrecopy && !cancelSent && info.status === 'active' && (info.ram?.['dirty-sync-count'] ?? 0) >= 2) {
        a.active.postcopyRequested = true;
      }
      if (a.active.postcopyRequested && !cancelSent && info.status === 'active') {
        a.active.postcopyRequested = false;
        // Whoever asked, the switch waits for the return path and a destination that answers (postcopy/safety.ts).
        if (!a.active.postcopy || (await a.active.postcopy.mayStart())) {
          await a.mm.startPostcopy();
          continue;
        }
      }
    }

    const wait = new AbortController();
    const timer = setTimeout(() => wait.abort(), pollMs);
    try {
      await Promise.race([
        a.events.next({ signal: wait.signal }).catch(() => undefined),
        a.active.nextRequest(wait.signal),
        new Promise<void>((r) => wait.signal.addEventListener('abort', () => r(), { once: true })),
      ]);
    } finally {
      clearTimeout(timer);
      wait.abort();
    }
  }
}

/** The policy's step and why, over the job statistics (domjobinfo). */
/** QEMU's own rates over the last pass (0 until its second dirty-bitmap sync): what the policy's recheck reads. */
function passRates(info: QemuMigrationInfo): { dirtyBytesPerSec?: number; linkBytesPerSec?: number } {
  const ram = info.ram;
  if (!ram || !(ram.mbps > 0) || !(ram['page-size'] > 0)) return {};
  return { dirtyBytesPerSec: ram['dirty-pages-rate'] * ram['page-size'], linkBytesPerSec: (ram.mbps * 1e6) / 8 };
}

function policyFields(e: Escalation): Partial<JobInfo> {
  const c = e.current;
  return {
    policy: e.plan.policy,
    ...(e.plan.maxDowntimeMs !== undefined ? { maxDowntimeMs: e.plan.maxDowntimeMs } : {}),
    policyStep: c.step,
    policyReason: c.reason,
    ...(e.downtimeLimit !== undefined ? { downtimeLimitMs: e.downtimeLimit } : {}),
  };
}

/** The policy's fields of the job before (the post-copy phase is followed without the escalation). */
function carriedPolicyFields(job: JobInfo): Partial<JobInfo> {
  const { policy, policyStep, policyReason, downtimeLimitMs, maxDowntimeMs, pausedMs } = job;
  return Object.fromEntries(Object.entries({ policy, policyStep, policyReason, downtimeLimitMs, maxDowntimeMs, pausedMs }).filter(([, v]) => v !== undefined));
}

/**
 * How long QEMU has moved no data while it says it migrates (active, post-copy active): the bytes it counts as
 * transferred stand still. Any other status (setup, the switch-over, a paused post-copy) starts the count again.
 */
class ProgressWatch {
  private bytes = -1;
  private since = 0;
  constructor(private readonly now: () => number) {}

  stuckFor(info: QemuMigrationInfo): number {
    const moving = info.status === 'active' || info.status === 'postcopy-active';
    const bytes = info.ram?.transferred ?? 0;
    if (!moving || bytes !== this.bytes) {
      this.bytes = moving ? bytes : -1;
      this.since = this.now();
      return 0;
    }
    return this.now() - this.since;
  }

  reset(): void {
    this.bytes = -1;
  }
}

function noProgress(ms: number): FerryError {
  return new FerryError(
    'MIG_NO_PROGRESS',
    `operation aborted: migration out: no data moved for ${Math.round(ms / 1000)} s (migration_progress_timeout); the domain keeps running on the source`,
  );
}

function cancelled(reason: 'user' | 'timeout' | 'io-error' | 'policy' | 'no-progress' | undefined, o: MigrationOptions): FerryError {
  if (reason === 'timeout') {
    return new FerryError(
      'MIG_TIMEOUT',
      `operation aborted: migration did not complete within --timeout ${o.timeout} s; the domain keeps running on the source`,
    );
  }
  if (reason === 'io-error') {
    return new FerryError('MIG_FAILED', 'operation aborted: migration out: the domain hit an I/O error and --abort-on-error was given');
  }
  return new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client');
}

function postcopyFailed(info: QemuMigrationInfo): FerryError {
  return new FerryError(
    'MIG_POSTCOPY_FAILED',
    `operation failed: post-copy migration failed (${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}); the domain is paused on the destination and cannot run on the source`,
  );
}
