import { FerryError } from '../../errors/ferry-error.js';
import { predictPrecopy } from '../forecast/precopy-model.js';
import type { EscalationStep, PolicyPlan } from './policy-plan.js';

/** One query-migrate sample, as the escalation reads it. */
export interface ProgressSample {
  /** QEMU's status (only `active`, pre-copy, is acted on). */
  status: string;
  /** The pass QEMU is in (ram.dirty-sync-count). */
  pass: number;
  /** Bytes left to send (ram.remaining). */
  remaining: number;
  /** QEMU's estimate of the switch-over pause with what the last pass left (expected-downtime), ms. */
  expectedDowntimeMs?: number;
  /** ms since Perform started. */
  elapsedMs: number;
  /** QEMU's dirty rate over the last pass, from its dirty bitmap (ram.dirty-pages-rate x page size), bytes/s. */
  dirtyBytesPerSec?: number;
  /** The rate the last pass moved at (ram.mbps), bytes/s. */
  linkBytesPerSec?: number;
}

/** What the follow loop must do now. */
export type EscalationAction =
  { kind: 'downtime'; ms: number } | { kind: 'post-copy' } | { kind: 'suspend'; downtimeMs: number } | { kind: 'abort'; error: FerryError };

/** The step a migration is in, and why it was taken (domjobinfo, the migration.step event). */
export interface StepState {
  step: 'start' | 'ramp' | EscalationStep;
  reason: string;
  pass: number;
  atMs: number;
}

/**
 * Runs a PolicyPlan against the migration's progress: each pass that leaves
 * at least `stallRatio` of what the one before left (a stall, as Proxmox and
 * oVirt count it) moves one step: up the downtime ramp, then along the
 * escalation. A stall whose switch-over would not fit even the top of the
 * ramp skips the rest of it. The deadline takes the last step at once.
 */
export class Escalation {
  private lastPass = 0;
  private lastRemaining = Number.POSITIVE_INFINITY;
  private rampIndex = 0;
  /** Index into plan.escalation of the step in force; -1: still ramping. */
  private escalationIndex = -1;
  private throttleStalls = 0;
  private deadlineTaken = false;
  private finished = false;
  private readonly history: StepState[] = [];

  constructor(
    readonly plan: PolicyPlan,
    private readonly stallRatio = 0.9,
  ) {
    this.history.push({ step: 'start', reason: plan.steps[0]?.why ?? `policy ${plan.policy}`, pass: 0, atMs: 0 });
  }

  /** The step in force and why. */
  get current(): StepState {
    return this.history.at(-1) as StepState;
  }

  /** Every step taken, in order. */
  get steps(): readonly StepState[] {
    return this.history;
  }

  /** The downtime limit in force (ms). */
  get downtimeLimit(): number | undefined {
    return this.plan.downtimeSteps?.[this.rampIndex];
  }

  /** One sample; returns what to do (nothing, usually). Once a final action (post-copy, suspend, abort) is returned, nothing more. */
  observe(s: ProgressSample): EscalationAction | undefined {
    if (this.finished || s.status !== 'active') return undefined;
    const deadline = this.plan.deadlineSeconds;
    if (deadline !== undefined && !this.deadlineTaken && s.elapsedMs >= deadline * 1000) {
      this.deadlineTaken = true;
      return this.final(s, `--deadline ${deadline} s reached at pass ${s.pass}`, 'deadline');
    }
    if (s.pass <= this.lastPass) return undefined;
    // The first pass sends all memory; comparisons start with the third pass's start (pass 2 against pass 1).
    const stalled = this.lastPass >= 2 && s.remaining >= this.stallRatio * this.lastRemaining;
    const previous = { pass: this.lastPass, remaining: this.lastRemaining };
    this.lastPass = s.pass;
    this.lastRemaining = s.remaining;
    // auto's recheck (PolicyPlan.recheckAtPass2) keeps pre-copy only if the passes still to come take no longer than
    // the first did. Measured under TCG (150 MiB/s asked, 100 MiB/s cap): QEMU's rate over pass 1 read 92 MiB/s against
    // 110 MiB/s moved, which the model turns into 14 slow passes (~30 s after a 5 s first pass), while pass 2 in fact
    // left more than pass 1: a pre-copy that slow is a stall that has not shown yet, and post-copy now finishes sooner.
    // (A count of passes misjudged a light guest: 4 MiB/s over 16 takes five short passes down the 50 ms ramp.)
    const recheck = this.plan.recheckAtPass2;
    if (recheck && s.pass === 2 && s.dirtyBytesPerSec !== undefined && s.linkBytesPerSec && this.plan.escalation.includes('post-copy')) {
      const again = predictPrecopy({
        ...recheck,
        firstPassBytes: Math.max(1, s.remaining),
        dirtyBytesPerSec: s.dirtyBytesPerSec,
        linkBytesPerSec: s.linkBytesPerSec,
      });
      if (!again.converges || again.totalSeconds * 1000 > s.elapsedMs) {
        const says = again.converges
          ? `pre-copy needs ${again.passes.length} more passes (~${Math.round(again.totalSeconds)} s, longer than pass 1's ${Math.round(s.elapsedMs / 1000)} s)`
          : 'pre-copy does not converge';
        const why =
          `QEMU's own dirty rate over pass 1 (${mib(s.dirtyBytesPerSec)} MiB/s, against ${mib(s.linkBytesPerSec)} MiB/s moved) says ${says} ` +
          `(the forecast read ${mib(recheck.dirtyBytesPerSec)} MiB/s): post-copy as pass 2 starts`;
        return this.take(s, 'post-copy', why, { kind: 'post-copy' });
      }
    }
    if (this.plan.postcopyAtPass !== undefined && s.pass >= this.plan.postcopyAtPass && this.plan.escalation.includes('post-copy')) {
      const why =
        this.plan.postcopyAtPass <= 1
          ? 'the forecast says a first pass would stall (the guest rewrites its memory as fast as the link carries it): post-copy as the transfer starts'
          : `the forecast says pre-copy does not converge: post-copy as pass ${s.pass} starts`;
      return this.take(s, 'post-copy', why, { kind: 'post-copy' });
    }
    if (!stalled) return undefined;
    const why = `pass ${previous.pass} left ${mib(s.remaining)} MiB, as much as pass ${previous.pass - 1} (${mib(previous.remaining)} MiB)`;
    return this.onStall(s, why);
  }

  private onStall(s: ProgressSample, why: string): EscalationAction | undefined {
    const ramp = this.plan.downtimeSteps ?? [];
    if (this.escalationIndex < 0 && this.rampIndex < ramp.length - 1) {
      const top = ramp[ramp.length - 1] as number;
      const expected = s.expectedDowntimeMs;
      if (expected === undefined || expected <= top || this.plan.escalation.length === 0) {
        this.rampIndex++;
        const ms = ramp[this.rampIndex] as number;
        return this.take(s, 'ramp', `${why}: downtime limit raised to ${ms} ms`, { kind: 'downtime', ms });
      }
      // Even the top of the ramp would not fit what is left: the rest of it only costs passes.
      why = `${why}; its switch-over would take ${Math.round(expected)} ms, more than the ramp's top (${top} ms)`;
      this.rampIndex = ramp.length - 1;
      return this.next(s, why) ?? { kind: 'downtime', ms: top };
    }
    if (this.escalationIndex >= 0) {
      const now = this.plan.escalation[this.escalationIndex];
      if ((now === 'auto-converge' || now === 'dirty-limit') && ++this.throttleStalls < this.plan.throttlePasses) return undefined;
    }
    return this.next(s, why);
  }

  /** The next escalation step (a throttle, a pause that fits, post-copy, abort). */
  private next(s: ProgressSample, why: string): EscalationAction | undefined {
    if (this.escalationIndex >= this.plan.escalation.length - 1) {
      // manual has no escalation: the ramp's top holds, and virsh's flags (--timeout) or the user decide.
      return undefined;
    }
    this.escalationIndex++;
    const step = this.plan.escalation[this.escalationIndex] as EscalationStep;
    switch (step) {
      case 'auto-converge':
      case 'dirty-limit':
        this.throttleStalls = 0;
        this.history.push({
          step,
          reason: `${why}: ${step === 'auto-converge' ? "QEMU's auto-converge throttles" : "QEMU's dirty-limit caps"} the vCPUs`,
          pass: s.pass,
          atMs: s.elapsedMs,
        });
        return undefined;
      case 'suspend':
        return this.suspendOrNext(s, why);
      case 'post-copy':
        return this.take(s, 'post-copy', `${why}: switching to post-copy`, { kind: 'post-copy' });
      case 'abort':
        return this.abort(s, why, 'stall');
    }
  }

  /** The deadline: the policy's last resort now (post-copy if it has it, a pause that fits, else abort). */
  private final(s: ProgressSample, why: string, cause: 'deadline'): EscalationAction {
    const e = this.plan.escalation;
    if (e.includes('post-copy')) return this.take(s, 'post-copy', `${why}: switching to post-copy`, { kind: 'post-copy' });
    if (e.includes('suspend')) {
      const a = this.suspendOrNext(s, why);
      if (a) return a;
    }
    return this.abort(s, why, cause);
  }

  private suspendOrNext(s: ProgressSample, why: string): EscalationAction | undefined {
    const max = this.plan.maxPauseMs ?? 0;
    const expected = s.expectedDowntimeMs;
    if (expected !== undefined && expected <= max) {
      return this.take(s, 'suspend', `${why}: pausing the guest for the last pass (about ${Math.round(expected)} ms, at most ${max} ms)`, {
        kind: 'suspend',
        downtimeMs: max,
      });
    }
    const longer = `${why}; the last pass would pause the guest ${expected === undefined ? 'for an unknown time' : `${Math.round(expected)} ms`}, more than ${max} ms`;
    this.history.push({ step: 'suspend', reason: `${longer}: not pausing`, pass: s.pass, atMs: s.elapsedMs });
    return this.next(s, longer);
  }

  private abort(s: ProgressSample, why: string, cause: 'stall' | 'deadline'): EscalationAction {
    const p = this.plan;
    const est = s.expectedDowntimeMs === undefined ? '' : `; QEMU expects a ${Math.round(s.expectedDowntimeMs)} ms switch-over`;
    const error =
      p.maxDowntimeMs !== undefined
        ? new FerryError(
            'MIG_DOWNTIME_UNREACHABLE',
            `operation aborted: migration cannot switch over within --max-downtime ${p.maxDowntimeMs} ms${cause === 'deadline' ? ` before its --deadline ${p.deadlineSeconds} s` : ''} (policy ${p.policy}: ${why}${est}); the domain keeps running on the source`,
            { details: { policy: p.policy, maxDowntimeMs: p.maxDowntimeMs, pass: s.pass, remaining: s.remaining } },
          )
        : new FerryError(
            'MIG_NOT_CONVERGING',
            `operation aborted: migration does not converge${cause === 'deadline' ? ` within its --deadline ${p.deadlineSeconds} s` : ''} (policy ${p.policy}: ${why}${est}); the domain keeps running on the source`,
            { details: { policy: p.policy, pass: s.pass, remaining: s.remaining } },
          );
    return this.take(s, 'abort', `${why}: aborting`, { kind: 'abort', error });
  }

  private take(s: ProgressSample, step: StepState['step'], reason: string, action: EscalationAction): EscalationAction {
    this.history.push({ step, reason, pass: s.pass, atMs: s.elapsedMs });
    if (action.kind !== 'downtime') this.finished = true;
    return action;
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
