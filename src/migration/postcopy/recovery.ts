import type { Logger } from 'pino';
import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationMonitor, QemuMigrationInfo } from '../../qemu/migration-monitor.js';
import { formatTcpUri } from '../migration-uri.js';

/** Where the destination's QEMU listens again (migrate-recover on a fresh port). */
export interface RecoverTarget {
  port: number;
  /** The host to connect to when the destination advertises one (migration_host, a specific listen address). */
  connectHost?: string;
}

export interface PostcopyRecoveryDeps {
  mm: Pick<MigrationMonitor, 'query' | 'resume' | 'pause'>;
  /** The peer call that makes the destination listen again. */
  askDestination: () => Promise<RecoverTarget>;
  /** The host the stream went to (the destination's advertised one wins for the new port). */
  targetHost: string;
  domain: string;
  /** Automatic attempts after a break (migration_postcopy_recover_attempts); 0: only by hand (migrate --postcopy-resume). */
  attempts: number;
  log: Logger;
  now: () => number;
  /** The pause between automatic attempts, doubled after each (default 1 s, at most 15 s). */
  backoffMs?: number;
  /** How long an attempt may stay in QEMU's recover states before it is given up (migrate-pause; default 30 s). */
  attemptMs?: number;
  /**
   * Between attempts (and once they are used up): asks the destination whether its QEMU is still there; an error
   * (MIG_DEST_CRASHED) when it is gone. Unreachable is not gone.
   */
  destinationGone?: () => Promise<FerryError | undefined>;
  /** How often destinationGone is asked (default 5 s). */
  probeMs?: number;
}

/** QEMU's statuses of a broken post-copy, and of its repair. */
export const PAUSED_STATES = new Set(['postcopy-paused', 'postcopy-recover-setup', 'postcopy-recover']);

/**
 * Recovery of a post-copy migration whose connection broke (source side). Both QEMUs are then in postcopy-paused:
 * the VM is paused on the destination waiting for pages only the source has, and neither side may give up. This
 * asks the destination to listen again (migrate-recover on a fresh port) and the source QEMU to reconnect (migrate
 * with resume), a bounded number of times by itself, then only when asked (migrate --postcopy-resume). Attempts
 * never overlap.
 */
export class PostcopyRecovery {
  private used = 0;
  private nextAt = 0;
  private busy = false;
  private pausedSince: number | undefined;
  /** Successful recoveries of this migration. */
  recovered = 0;
  private lastError: string | undefined;
  /** The destination's QEMU is gone: the guest is lost and no attempt can ever succeed (postcopy/destination-lost.ts). */
  private lost: FerryError | undefined;
  private probeAt = 0;

  constructor(private readonly d: PostcopyRecoveryDeps) {}

  /**
   * The follow loop's call at each look at a paused migration: runs an automatic attempt when one is due.
   * Returns what domjobinfo shows of it.
   */
  async onPaused(info: QemuMigrationInfo): Promise<string> {
    if (this.lost) throw this.lost;
    const now = this.d.now();
    if (this.pausedSince === undefined) {
      this.pausedSince = now;
      this.d.log.warn({ status: info.status, error: info['error-desc'] }, 'post-copy: the migration connection broke; both sides wait, paused');
    }
    if (info.status === 'postcopy-paused' && !this.busy && this.used < this.d.attempts && now >= this.nextAt) {
      this.used++;
      await this.attempt(`automatic ${this.used} of ${this.d.attempts}`).catch((err: unknown) => {
        if (isDestinationLost(err)) throw err;
        this.lastError = (err as Error).message;
        this.d.log.warn({ err, attempt: this.used }, 'post-copy: recovery attempt failed');
      });
      this.nextAt = this.d.now() + Math.min(15_000, (this.d.backoffMs ?? 1000) * 2 ** (this.used - 1));
    } else if (!this.busy && this.d.destinationGone && now >= this.probeAt) {
      this.probeAt = now + (this.d.probeMs ?? 5000);
      const gone = await this.d.destinationGone().catch(() => undefined);
      if (gone) this.lost = gone;
    }
    if (this.lost) throw this.lost;
    return this.note(info.status ?? 'postcopy-paused');
  }

  /** migrate --postcopy-resume: one attempt now; resolves once the pages flow again. */
  async resumeNow(): Promise<void> {
    if (this.busy) {
      throw new FerryError(
        'OPERATION_INVALID',
        `Requested operation is not valid: resuming failed post-copy migration of domain ${this.d.domain} already in progress`,
      );
    }
    const status = (await this.d.mm.query()).status;
    if (status !== 'postcopy-paused') {
      throw new FerryError(
        'OPERATION_INVALID',
        `Requested operation is not valid: post-copy migration of domain ${this.d.domain} has not failed (${status ?? 'none'})`,
      );
    }
    try {
      await this.attempt('by hand');
    } catch (err) {
      this.lastError = (err as Error).message;
      throw err;
    }
  }

  /** Back to post-copy: the count of automatic attempts starts again for the next break. */
  onRunning(): void {
    if (this.pausedSince === undefined) return;
    this.d.log.info({ pausedMs: this.d.now() - this.pausedSince, recovered: this.recovered }, 'post-copy: the migration runs again');
    this.pausedSince = undefined;
    this.used = 0;
    this.nextAt = 0;
    this.lastError = undefined;
  }

  private note(status: string): string {
    const auto = this.d.attempts === 0 ? 'automatic recovery off' : `automatic attempts ${this.used} of ${this.d.attempts}`;
    const last = this.lastError ? `; last attempt: ${this.lastError}` : '';
    const next = this.used >= this.d.attempts && !this.busy ? '; resume with ferry migrate --postcopy-resume' : '';
    return `${status}: the connection broke (${auto}${last})${next}`;
  }

  private async attempt(what: string): Promise<void> {
    this.busy = true;
    try {
      const where = await this.d.askDestination().catch((err: unknown) => {
        // Its QEMU is gone: nothing can ever take these pages, and waiting for a resume would wait forever.
        if (isDestinationLost(err)) throw (this.lost = err);
        throw recoverFailed(this.d.domain, `the destination cannot listen again: ${(err as Error).message}`);
      });
      const uri = formatTcpUri(where.connectHost ?? this.d.targetHost, where.port);
      this.d.log.info({ uri, attempt: what }, 'post-copy: reconnecting to the destination');
      await this.d.mm.resume(uri);
      await this.untilSettled();
      this.recovered++;
      this.d.log.info({ attempt: what }, 'post-copy: recovered');
    } finally {
      this.busy = false;
    }
  }

  /** Waits for QEMU to leave its recover states: post-copy again (or done), or paused again (the attempt failed). */
  private async untilSettled(): Promise<void> {
    const start = this.d.now();
    const deadline = start + (this.d.attemptMs ?? 30_000);
    let seenRecover = false;
    for (;;) {
      const info = await this.d.mm.query();
      const s = info.status ?? 'none';
      if (s === 'postcopy-active' || s === 'completed') return;
      if (s === 'postcopy-recover-setup' || s === 'postcopy-recover') seenRecover = true;
      // QEMU 9.1+ is in postcopy-recover-setup when `migrate` returns and back to paused if the connection fails; an older
      // QEMU may still say paused a moment before its thread moves on: paused after the recover states, or after 2 s, failed.
      if (s === 'postcopy-paused' && (seenRecover || this.d.now() - start >= 2000))
        throw recoverFailed(this.d.domain, info['error-desc'] ?? 'the source QEMU could not reconnect');
      if (!PAUSED_STATES.has(s)) throw recoverFailed(this.d.domain, `the source QEMU's migration is '${s}'`);
      if (this.d.now() >= deadline) {
        await this.d.mm.pause().catch(() => undefined);
        throw recoverFailed(this.d.domain, `no reconnection within ${Math.round((this.d.attemptMs ?? 30_000) / 1000)} s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The destination's answer that its incoming QEMU exited: the post-copy guest is lost, not merely cut off. */
export function isDestinationLost(err: unknown): err is FerryError {
  return err instanceof FerryError && err.code === 'MIG_DEST_CRASHED';
}

function recoverFailed(domain: string, why: string): FerryError {
  return new FerryError(
    'MIG_POSTCOPY_RECOVER_FAILED',
    `operation failed: resuming the post-copy migration of domain ${domain} failed: ${why}; both sides stay paused`,
    { details: { reason: why } },
  );
}
