import type { Logger } from 'pino';
import type { QemuMigrationInfo } from '../../qemu/migration-monitor.js';
import type { PostcopyGuard } from './safety.js';
import type { PostcopyRecovery } from './recovery.js';

/** What the follow loop asks of post-copy, and what job control (migrate-postcopy, migrate --postcopy-resume) reaches through the migration. */
export class PostcopyControl {
  constructor(
    readonly guard: PostcopyGuard,
    readonly recovery: PostcopyRecovery,
    private readonly d: { log: Logger; rearm: () => void; retryMs?: number },
  ) {}

  /**
   * Before `migrate-start-postcopy`: true when the switch is safe. A refused switch leaves the migration in pre-copy
   * (the VM runs on the source) and is asked again in a while, so an automatic trigger (--timeout-postcopy, a policy)
   * switches once the destination answers again.
   */
  async mayStart(): Promise<boolean> {
    try {
      await this.guard.check();
      return true;
    } catch (err) {
      this.d.log.warn({ err }, 'post-copy: switch refused; the migration goes on in pre-copy');
      setTimeout(this.d.rearm, this.d.retryMs ?? 2000).unref();
      return false;
    }
  }

  /** A look at a broken post-copy (postcopy-paused or recovering): what domjobinfo shows of it. */
  onPaused(info: QemuMigrationInfo): Promise<string> {
    return this.recovery.onPaused(info);
  }

  /** A look at a running post-copy. */
  onRunning(): void {
    this.recovery.onRunning();
  }
}
