import koffi from 'koffi';

/** Linux scheduling policies (sched.h) by libvirt's names. */
const POLICIES = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5 } as const;

export type SchedPolicy = keyof typeof POLICIES;

/**
 * A thread's scheduling policy through libc's sched_setscheduler (bound with
 * koffi), as libvirt's virProcessSetScheduler: <vcpusched>, <iothreadsched>, <emulatorsched>.
 */
export class ThreadScheduler {
  private readonly setscheduler: (tid: number, policy: number, param: Buffer) => number;
  private readonly getscheduler: (tid: number) => number;
  private readonly priorityMin: (policy: number) => number;
  private readonly priorityMax: (policy: number) => number;

  constructor() {
    const libc = koffi.load('libc.so.6');
    this.setscheduler = libc.func('sched_setscheduler', 'int', ['int', 'int', koffi.pointer('uint8_t')]) as (
      tid: number,
      policy: number,
      param: Buffer,
    ) => number;
    this.getscheduler = libc.func('sched_getscheduler', 'int', ['int']) as (tid: number) => number;
    this.priorityMin = libc.func('sched_get_priority_min', 'int', ['int']) as (policy: number) => number;
    this.priorityMax = libc.func('sched_get_priority_max', 'int', ['int']) as (policy: number) => number;
  }

  /** The priority range of a policy on this kernel (0..0 for those without priorities). */
  priorityRange(policy: SchedPolicy): [number, number] {
    return [this.priorityMin(POLICIES[policy]), this.priorityMax(POLICIES[policy])];
  }

  /** Sets a thread's policy; throws with errno when the kernel refuses. */
  set(tid: number, policy: SchedPolicy, priority = 0): void {
    const param = Buffer.alloc(4);
    param.writeInt32LE(priority);
    if (this.setscheduler(tid, POLICIES[policy], param) !== 0)
      throw new Error(`sched_setscheduler(${tid}, ${policy}, ${priority}) failed: errno ${koffi.errno()}`);
  }

  /** A thread's policy by libvirt's name. */
  get(tid: number): SchedPolicy | undefined {
    const n = this.getscheduler(tid) & ~0x40000000; // without SCHED_RESET_ON_FORK
    return (Object.keys(POLICIES) as SchedPolicy[]).find((k) => POLICIES[k] === n);
  }
}
