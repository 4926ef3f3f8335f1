import { FerryError } from '../errors/ferry-error.js';

/** What a job is called in messages: libvirt names them by the API that holds the lock. */
export type JobName = string;

export interface AsyncJobInfo {
  name: JobName;
  /** Jobs that may run while this async job holds the domain (e.g. query, abort, setSpeed). */
  allowed: ReadonlySet<JobName>;
}

interface Holder {
  job: JobName;
  since: number;
  async?: AsyncJobInfo;
}

/**
 * One mutating job per domain at a time. A second job waits for the first to
 * end (up to a deadline) and then fails like libvirt's "cannot acquire state
 * change lock". An async job (a migration) names the jobs allowed beside it.
 */
export class DomainJobs {
  private readonly holders = new Map<string, Holder>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(private readonly defaultWaitMs = 30_000, private readonly now: () => number = Date.now) {}

  /** Runs `fn` holding the domain's job lock. */
  async run<T>(uuid: string, job: JobName, fn: () => Promise<T>, options: { waitMs?: number; async?: AsyncJobInfo } = {}): Promise<T> {
    const holder = this.holders.get(uuid);
    if (holder?.async?.allowed.has(job)) return fn();
    await this.acquire(uuid, { job, since: this.now(), ...(options.async ? { async: options.async } : {}) }, options.waitMs ?? this.defaultWaitMs);
    try {
      return await fn();
    } finally {
      this.release(uuid);
    }
  }

  /**
   * Takes the domain for a job that spans several requests (an incoming
   * migration between Prepare and Finish); call the returned release() once.
   */
  async begin(uuid: string, job: JobName, options: { waitMs?: number; async?: AsyncJobInfo } = {}): Promise<() => void> {
    await this.acquire(uuid, { job, since: this.now(), ...(options.async ? { async: options.async } : {}) }, options.waitMs ?? this.defaultWaitMs);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(uuid);
    };
  }

  /** True when `job` may run now beside the domain's async job (or nothing holds the domain). */
  allows(uuid: string, job: JobName): boolean {
    const h = this.holders.get(uuid);
    return !h || (h.async?.allowed.has(job) ?? false);
  }

  /** The job holding the domain, if any. */
  current(uuid: string): { job: JobName; since: number; async: boolean } | undefined {
    const h = this.holders.get(uuid);
    return h && { job: h.job, since: h.since, async: h.async !== undefined };
  }

  /** Waits until the domain is free and takes it in the same tick, so no other job slips in between. */
  private async acquire(uuid: string, holder: Holder, waitMs: number): Promise<void> {
    const job = holder.job;
    const deadline = this.now() + waitMs;
    while (this.holders.has(uuid)) {
      const remaining = deadline - this.now();
      const held = this.holders.get(uuid) as Holder;
      if (remaining <= 0) {
        throw new FerryError(
          'OPERATION_IN_PROGRESS',
          `Timed out during operation: cannot acquire state change lock (held by ${held.job})`,
          { details: { heldBy: held.job, wanted: job, since: held.since } },
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        const list = this.waiters.get(uuid) ?? [];
        list.push(done);
        this.waiters.set(uuid, list);
      });
    }
    this.holders.set(uuid, { ...holder, since: this.now() });
  }

  private release(uuid: string): void {
    this.holders.delete(uuid);
    const list = this.waiters.get(uuid);
    this.waiters.delete(uuid);
    for (const wake of list ?? []) wake();
  }
}
