import { FerryError } from '../errors/ferry-error.js';

/** Async jobs: they hold the domain across requests and let only the jobs of their mask run beside them. */
export type AsyncJobName = 'migration out' | 'migration in' | 'blockcopy' | 'managedsave';

/** The jobs that take a domain's lock, named as virsh names the command (libvirt names them by the API that holds it). */
export type SyncJobName =
  | 'define'
  | 'undefine'
  | 'create'
  | 'disk-edit'
  | 'start'
  | 'managedsave-remove'
  | 'shutdown'
  | 'reboot'
  | 'reset'
  | 'suspend'
  | 'resume'
  | 'setvcpus'
  | 'vcpupin'
  | 'emulatorpin'
  | 'schedinfo'
  | 'blkiotune'
  | 'modify'
  | 'attach-disk'
  | 'detach-disk'
  | 'change-media'
  /** A virtual network's or a storage pool's own lock (DomainJobs keyed by net:/pool:). */
  | 'network'
  | 'pool';

/**
 * Operations that never take the lock but that an async job's mask names (libvirt's QUERY, ABORT, DESTROY,
 * MIGRATION_OP): reading state, domjobabort, destroy, migrate-setspeed / -setmaxdowntime / -postcopy, blockjob.
 */
export type MaskOnlyJobName = 'query' | 'abort' | 'destroy' | 'setSpeed' | 'setMaxDowntime' | 'postcopy' | 'blockjob';

/** What a job is called in messages and masks. */
export type JobName = AsyncJobName | SyncJobName | MaskOnlyJobName;

export interface AsyncJobInfo {
  name: AsyncJobName;
  /** Jobs that may run while this async job holds the domain (e.g. query, abort, setSpeed). */
  allowed: ReadonlySet<JobName>;
}

/** libvirt's VIR_JOB_DEFAULT_MASK: reading, aborting and destroying are allowed beside every async job. */
const DEFAULT_MASK: readonly JobName[] = ['query', 'abort', 'destroy'];

/**
 * Each async job's mask, as libvirt's (qemuMigrationJobStart, qemuDomainSaveInternal). Unlike libvirt, an
 * outgoing migration does not allow suspend: ferry's source pauses the vCPUs itself at the switch-over.
 */
export const ASYNC_JOB_MASKS: Readonly<Record<AsyncJobName, ReadonlySet<JobName>>> = {
  'migration out': new Set<JobName>([...DEFAULT_MASK, 'setSpeed', 'setMaxDowntime', 'postcopy']),
  'migration in': new Set<JobName>(DEFAULT_MASK),
  blockcopy: new Set<JobName>([...DEFAULT_MASK, 'blockjob']),
  managedsave: new Set<JobName>(DEFAULT_MASK),
};

/** An async job with its mask. */
export function asyncJob(name: AsyncJobName): AsyncJobInfo {
  return { name, allowed: ASYNC_JOB_MASKS[name] };
}

interface Holder {
  job: JobName;
  since: number;
  async?: AsyncJobInfo;
}

export interface JobOptions {
  waitMs?: number;
  async?: AsyncJobInfo;
}

/**
 * One mutating job per domain at a time. A second job waits for the first to
 * end (up to a deadline) and then fails like libvirt's "cannot acquire state
 * change lock". An async job (a migration) names the jobs allowed beside it:
 * those run at once, any other fails at once (it would wait for the whole migration).
 */
export class DomainJobs {
  private readonly holders = new Map<string, Holder>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(
    private readonly defaultWaitMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `fn` holding the domain's job lock. */
  async run<T>(uuid: string, job: JobName, fn: () => Promise<T>, options: JobOptions = {}): Promise<T> {
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
  async begin(uuid: string, job: JobName, options: JobOptions = {}): Promise<() => void> {
    await this.acquire(uuid, { job, since: this.now(), ...(options.async ? { async: options.async } : {}) }, options.waitMs ?? this.defaultWaitMs);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(uuid);
    };
  }

  /** Takes the domain for an async job with its mask (ASYNC_JOB_MASKS), failing at once when another job holds it. */
  beginAsync(uuid: string, job: AsyncJobName): Promise<() => void> {
    return this.begin(uuid, job, { waitMs: 0, async: asyncJob(job) });
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
      if (held.async) throw refusedBeside(held, job);
      if (remaining <= 0) {
        throw new FerryError('OPERATION_IN_PROGRESS', `Timed out during operation: cannot acquire state change lock (held by ${held.job})`, {
          details: { heldBy: held.job, wanted: job, since: held.since },
        });
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

/** The async job's mask does not allow `job`: refused at once, as waiting would last as long as the migration. */
function refusedBeside(held: Holder, job: JobName): FerryError {
  const allowed = [...(held.async?.allowed ?? [])].join(', ');
  return new FerryError(
    'OPERATION_IN_PROGRESS',
    `Requested operation is not valid: cannot acquire state change lock (held by ${held.job}): ${job} is not allowed while it runs (allowed: ${allowed})`,
    { details: { heldBy: held.job, wanted: job, since: held.since, allowed: [...(held.async?.allowed ?? [])] } },
  );
}
