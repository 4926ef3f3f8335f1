import koffi from 'koffi';

const RUSAGE_CHILDREN = -1;

/**
 * CPU time (user + sys) of this process's waited-for children, in ms, from getrusage(RUSAGE_CHILDREN): the
 * kernel's own accounting to the microsecond, where GNU time prints 10 ms steps. The difference across one
 * spawnSync() is that child's CPU time.
 */
export class ChildrenCpu {
  private readonly getrusage: (who: number, usage: Buffer) => number;

  constructor() {
    const libc = koffi.load('libc.so.6');
    this.getrusage = libc.func('getrusage', 'int', ['int', koffi.pointer('uint8_t')]) as (who: number, usage: Buffer) => number;
  }

  /** Total so far, in ms. */
  ms(): number {
    const usage = Buffer.alloc(144); // struct rusage on x86_64: two timevals, then 14 longs
    if (this.getrusage(RUSAGE_CHILDREN, usage) !== 0) throw new Error(`getrusage failed: errno ${koffi.errno()}`);
    const tv = (at: number): number => Number(usage.readBigInt64LE(at)) * 1000 + Number(usage.readBigInt64LE(at + 8)) / 1000;
    return tv(0) + tv(16);
  }
}
