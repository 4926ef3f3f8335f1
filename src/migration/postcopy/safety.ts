import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationMonitor } from '../../qemu/migration-monitor.js';

/** What the destination says of the migration (the peer status call). */
export interface DestinationView {
  phase: string;
  incoming?: string | null;
}

export interface PostcopyGuardDeps {
  mm: Pick<MigrationMonitor, 'queryCapabilities'>;
  /** The peer status call, bounded by `timeoutMs`: the destination ferryd and its incoming QEMU answer. */
  askDestination: (timeoutMs: number) => Promise<DestinationView>;
  domain: string;
  now: () => number;
  /** How long the destination may take to answer (default 5 s). */
  timeoutMs?: number;
  /** How long an answer is reused, so a refused automatic switch does not ask again at every poll (default 2 s). */
  reuseMs?: number;
}

/**
 * Checks what makes post-copy safe before the switch: once the vCPUs run on the destination the source can never
 * take the VM back, so the switch is refused (the VM keeps running on the source, in pre-copy) unless the return
 * path is on and the destination ferryd and its incoming QEMU answer now. Whoever asks for the switch goes
 * through it: migrate-postcopy, --postcopy-after-precopy, --timeout-postcopy, a policy.
 */
export class PostcopyGuard {
  private last: { at: number; refusal: FerryError | undefined } | undefined;

  constructor(private readonly d: PostcopyGuardDeps) {}

  /**
   * Resolves when the switch is safe; throws the coded refusal otherwise. An answer is reused for a moment (the
   * follow loop asks at each look); `fresh` (a person asking: migrate-postcopy) always asks again.
   */
  async check(options: { fresh?: boolean } = {}): Promise<void> {
    if (options.fresh || !this.last || this.d.now() - this.last.at >= (this.d.reuseMs ?? 2000)) {
      const refusal = await this.refusal();
      this.last = { at: this.d.now(), refusal };
    }
    if (this.last.refusal) throw this.last.refusal;
  }

  private async refusal(): Promise<FerryError | undefined> {
    const caps = await this.d.mm.queryCapabilities();
    if (!caps['postcopy-ram']) {
      return new FerryError('OPERATION_INVALID', 'Requested operation is not valid: switching to post-copy requires migration to be started with --postcopy');
    }
    if (!caps['return-path']) {
      return unsafe(`the return path of the migration of '${this.d.domain}' is off: the destination could not ask for the pages it lacks`);
    }
    const timeoutMs = this.d.timeoutMs ?? 5000;
    const view = await this.d.askDestination(timeoutMs).catch((err: unknown) => err as Error);
    if (view instanceof Error) return unsafe(`the destination does not answer (${view.message})`);
    if (view.phase !== 'Prepare' && view.phase !== 'Finish') return unsafe(`the destination's side of the migration is ${view.phase}`);
    if (view.incoming !== 'active') return unsafe(`the destination's QEMU is not receiving (its migration is '${view.incoming ?? 'unknown'}')`);
    return undefined;
  }
}

function unsafe(why: string): FerryError {
  return new FerryError(
    'MIG_POSTCOPY_UNSAFE',
    `Requested operation is not valid: switching to post-copy refused: ${why}; the domain keeps running on the source`,
    { details: { reason: why } },
  );
}
