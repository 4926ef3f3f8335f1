import { readdirSync, readFileSync } from 'node:fs';
import koffi from 'koffi';
import { formatCpuset, parseCpuset } from '../vm/cpuset.js';

/**
 * Thread CPU affinity through libc's sched_setaffinity (bound with koffi):
 * ferry pins QEMU's vCPU and emulator threads as <cputune> and
 * <vcpu cpuset> say, without cgroups.
 */
export class CpuAffinity {
  private readonly setaffinity: (tid: number, size: number, mask: Buffer) => number;

  constructor() {
    const libc = koffi.load('libc.so.6');
    this.setaffinity = libc.func('sched_setaffinity', 'int', ['int', 'size_t', koffi.pointer('uint8_t')]) as (
      tid: number,
      size: number,
      mask: Buffer,
    ) => number;
  }

  /** Lets thread `tid` run only on `cpus`; throws with errno's name when the kernel refuses. */
  set(tid: number, cpus: readonly number[]): void {
    const bytes = Math.max(128, Math.ceil((Math.max(...cpus) + 1) / 64) * 8);
    const mask = Buffer.alloc(bytes);
    for (const cpu of cpus) mask[cpu >> 3] = (mask[cpu >> 3] as number) | (1 << (cpu & 7));
    if (this.setaffinity(tid, bytes, mask) !== 0) throw new Error(`sched_setaffinity(${tid}) failed: errno ${koffi.errno()}`);
  }
}

/** The host CPUs that are online (/sys/devices/system/cpu/online). */
export function onlineHostCpus(): number[] {
  return parseCpuset(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(), 'host');
}

/** A thread's allowed CPUs as the kernel reports them (Cpus_allowed_list), canonical. */
export function threadAffinity(pid: number, tid: number): string | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
    return line === undefined ? undefined : formatCpuset(parseCpuset(line.trim(), 'host'));
  } catch {
    return undefined;
  }
}

/** The threads of a process (/proc/PID/task). */
export function processThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((n) => Number.isInteger(n));
  } catch {
    return [];
  }
}

/** A thread's last host CPU and its CPU time (/proc/PID/task/TID/stat), for vcpuinfo. */
export function threadCpuStats(pid: number, tid: number): { cpu: number; cpuSeconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces and parentheses): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { cpu: Number(fields[36]), cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}
