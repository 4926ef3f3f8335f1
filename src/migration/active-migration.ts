import type { Lease } from '../shared/lease.js';
import type { JobInfo } from '../shared/job-info.js';
import type { Phase, Side } from './phases.js';
import type { PostcopyControl } from './postcopy/control.js';

/**
 * A migration in flight on this host, as job control sees it: its phase and
 * latest statistics, and the requests (abort, post-copy) other ferry
 * invocations make while it runs. The wait loop is woken on each request.
 */
export class ActiveMigration {
  phase: Phase;
  job: JobInfo;
  abortRequested = false;
  postcopyRequested = false;
  postcopyStarted = false;
  /** Block jobs mirroring disks to the destination (live storage migration). */
  mirrors: string[] = [];
  /** Disk leases the source released at the switch (handed to the destination). */
  lockState: Lease[] | undefined;
  /** QEMU encrypts this migration (--tls or migrate_tls_force): its credentials are removed if it fails. */
  tls = false;
  /** migrate-setmaxdowntime during the migration: the downtime schedule stops. */
  downtimePinned = false;
  /** A live migration with post-copy enabled (source): its safety check and its recovery. */
  postcopy: PostcopyControl | undefined;
  /** When the policy paused the guest for the last pass (suspend-if-needed), ferry's clock. */
  pausedAt: number | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly uuid: string,
    readonly name: string,
    readonly side: Side,
    readonly startedAt: number,
  ) {
    this.phase = side === 'source' ? 'Begin' : 'Prepare';
    this.job = {
      type: 'Unbounded',
      operation: side === 'source' ? 'Outgoing migration' : 'Incoming migration',
      phase: this.phase,
      timeElapsedMs: 0,
      percent: 0,
    };
  }

  /** The ledger recorded this side's move to `to`: job control sees it from now on. */
  enter(to: Phase): void {
    this.phase = to;
    this.job = { ...this.job, phase: to };
  }

  requestAbort(): void {
    this.abortRequested = true;
    this.wake();
  }

  requestPostcopy(): void {
    this.postcopyRequested = true;
    this.wake();
  }

  /** Resolves on the next request (abort, post-copy, parameter change). */
  nextRequest(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
