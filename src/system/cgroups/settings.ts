import { existsSync } from 'node:fs';
import { FerryError } from '../../errors/ferry-error.js';
import type { DomainCgroup } from './domain-cgroup.js';

/**
 * The limits libvirt writes into a domain's cgroup, per layout: cgroup v1
 * (cpu.shares, cpu.cfs_*, blkio.*) or v2 (cpu.weight, cpu.max, io.*), with
 * libvirt's range checks (src/util/vircgroupv1.c, vircgroupv2.c).
 */

function range(what: string, n: number, min: number, max: number): void {
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new FerryError('CGROUP_VALUE_INVALID', `invalid argument: ${what} '${n}' must be in range [${min}, ${max}]`);
  }
}

/** <shares>: cpu.shares [2, 262144] on v1, cpu.weight [1, 10000] on v2 (written as is, as libvirt does). */
export function setCpuShares(cg: DomainCgroup, shares: number): void {
  if (cg.layout.version === 2) {
    range('shares', shares, 1, 10000);
    cg.write(cg.cpuFile(undefined, 'cpu.weight'), String(shares));
  } else {
    range('shares', shares, 2, 262144);
    cg.write(cg.cpuFile(undefined, 'cpu.shares'), String(shares));
  }
}

export function cpuShares(cg: DomainCgroup): number {
  return Number(cg.read(cg.cpuFile(undefined, cg.layout.version === 2 ? 'cpu.weight' : 'cpu.shares')));
}

/** A CFS period and/or quota on the domain (`child` undefined) or one of its thread children. Negative quota: unlimited. */
export function setCpuBandwidth(cg: DomainCgroup, child: string | undefined, b: { period?: number; quota?: number }): void {
  if (cg.layout.version === 2) {
    const file = cg.cpuFile(child, 'cpu.max');
    const [q, p] = cg.read(file).split(' ');
    const quota = b.quota === undefined ? q : b.quota < 0 ? 'max' : String(b.quota);
    cg.write(file, `${quota} ${b.period ?? p}`);
    return;
  }
  if (b.period !== undefined) cg.write(cg.cpuFile(child, 'cpu.cfs_period_us'), String(b.period));
  if (b.quota !== undefined) cg.write(cg.cpuFile(child, 'cpu.cfs_quota_us'), String(b.quota < 0 ? -1 : b.quota));
}

/** The period and quota in force (quota -1: unlimited), as virsh schedinfo shows them. */
export function cpuBandwidth(cg: DomainCgroup, child: string | undefined): { period: number; quota: number } {
  if (cg.layout.version === 2) {
    const [q, p] = cg.read(cg.cpuFile(child, 'cpu.max')).split(' ');
    return { period: Number(p), quota: q === 'max' ? -1 : Number(q) };
  }
  return { period: Number(cg.read(cg.cpuFile(child, 'cpu.cfs_period_us'))), quota: Number(cg.read(cg.cpuFile(child, 'cpu.cfs_quota_us'))) };
}

/** The weight file the kernel offers: BFQ's when the bfq scheduler is in use, else the plain one (none without it). */
function weightFile(cg: DomainCgroup, bfq: string, plain: string): string {
  const b = cg.ioFile(bfq);
  if (existsSync(b)) return b;
  const p = cg.ioFile(plain);
  if (existsSync(p)) return p;
  throw new FerryError(
    'CGROUP_UNAVAILABLE',
    `cannot set the I/O weight: cgroup file ${p} does not exist on this host (nor ${b}); the kernel offers I/O weights only with a weight-aware I/O scheduler (BFQ, or CFQ on old kernels)`,
  );
}

/** <blkiotune><weight>: [100, 1000] on v1 (libvirt's range), [1, 10000] on v2. */
export function setIoWeight(cg: DomainCgroup, weight: number): void {
  if (cg.layout.version === 2) {
    range('blkio weight', weight, 1, 10000);
    const file = weightFile(cg, 'io.bfq.weight', 'io.weight');
    cg.write(file, file.endsWith('io.weight') ? `default ${weight}` : String(weight));
  } else {
    range('blkio weight', weight, 100, 1000);
    cg.write(weightFile(cg, 'blkio.bfq.weight', 'blkio.weight'), String(weight));
  }
}

/** <device><weight>: the weight for one host device ("MAJ:MIN"). */
export function setIoDeviceWeight(cg: DomainCgroup, device: string, weight: number): void {
  if (cg.layout.version === 2) {
    range('blkio device weight', weight, 1, 10000);
    cg.write(weightFile(cg, 'io.bfq.weight', 'io.weight'), `${device} ${weight}`);
  } else {
    range('blkio device weight', weight, 100, 1000);
    const file = weightFile(cg, 'blkio.bfq.weight_device', 'blkio.weight_device');
    try {
      cg.write(file, `${device} ${weight}`);
    } catch (err) {
      // BFQ takes a device's weight only when the device runs the bfq scheduler.
      if (/ENOTSUP|EOPNOTSUPP/.test((err as Error).message)) {
        throw new FerryError(
          'CGROUP_UNAVAILABLE',
          `cannot set the I/O weight of device ${device}: it does not use the BFQ I/O scheduler (${file}: ${(err as Error).message})`,
          {
            hint: 'Switch the device to BFQ (echo bfq > /sys/block/DEV/queue/scheduler), or drop the <device><weight>',
          },
        );
      }
      throw err;
    }
  }
}

export interface IoThrottle {
  readBytesSec?: number;
  writeBytesSec?: number;
  readIopsSec?: number;
  writeIopsSec?: number;
}

const V1_THROTTLE = {
  readBytesSec: 'read_bps_device',
  writeBytesSec: 'write_bps_device',
  readIopsSec: 'read_iops_device',
  writeIopsSec: 'write_iops_device',
} as const;
const V2_THROTTLE = { readBytesSec: 'rbps', writeBytesSec: 'wbps', readIopsSec: 'riops', writeIopsSec: 'wiops' } as const;

/** <device> throttles for one host device ("MAJ:MIN"): blkio.throttle.* on v1, io.max on v2; an unset one is cleared (0, or max on v2). */
export function setIoThrottle(cg: DomainCgroup, device: string, t: IoThrottle): void {
  const keys = Object.keys(V1_THROTTLE) as Array<keyof IoThrottle>;
  if (cg.layout.version === 2) {
    cg.write(cg.ioFile('io.max'), `${device} ${keys.map((k) => `${V2_THROTTLE[k]}=${t[k] ?? 'max'}`).join(' ')}`);
    return;
  }
  for (const k of keys) cg.write(cg.ioFile(`blkio.throttle.${V1_THROTTLE[k]}`), `${device} ${t[k] ?? 0}`);
}

/** The throttles in force for one device, read back (0: none). */
export function ioThrottle(cg: DomainCgroup, device: string): Required<IoThrottle> {
  const out = { readBytesSec: 0, writeBytesSec: 0, readIopsSec: 0, writeIopsSec: 0 };
  if (cg.layout.version === 2) {
    const line = cg
      .read(cg.ioFile('io.max'))
      .split('\n')
      .find((l) => l.startsWith(`${device} `));
    for (const k of Object.keys(out) as Array<keyof IoThrottle>) {
      const v = new RegExp(`${V2_THROTTLE[k]}=(\\d+)`).exec(line ?? '')?.[1];
      if (v !== undefined) out[k] = Number(v);
    }
    return out;
  }
  for (const k of Object.keys(out) as Array<keyof IoThrottle>) {
    const line = cg
      .read(cg.ioFile(`blkio.throttle.${V1_THROTTLE[k]}`))
      .split('\n')
      .find((l) => l.startsWith(`${device} `));
    if (line) out[k] = Number(line.split(' ')[1]);
  }
  return out;
}

/** <memtune> in KiB; absent or 0: unlimited (src/vm/memtune.ts). */
export interface MemoryLimits {
  hardLimitKiB?: number;
  softLimitKiB?: number;
  swapHardLimitKiB?: number;
}

const limited = (kib: number | undefined): kib is number => kib !== undefined && kib > 0;

/**
 * <memtune>'s limits: memory.limit_in_bytes, memory.soft_limit_in_bytes and
 * memory.memsw.limit_in_bytes on v1 (-1: unlimited); memory.max, memory.high
 * and memory.swap.max on v2, where swap.max counts swap only: swap_hard_limit
 * minus hard_limit, as libvirt's vircgroupv2.c. A swap limit needs the
 * kernel's swap accounting: without its file the start is refused.
 */
export function setMemoryLimits(cg: DomainCgroup, m: MemoryLimits): void {
  const v2 = cg.layout.version === 2;
  const bytes = (kib: number | undefined): string => (limited(kib) ? String(kib * 1024) : v2 ? 'max' : '-1');
  const files = v2
    ? { hard: 'memory.max', soft: 'memory.high', swap: 'memory.swap.max' }
    : { hard: 'memory.limit_in_bytes', soft: 'memory.soft_limit_in_bytes', swap: 'memory.memsw.limit_in_bytes' };
  const swapFile = cg.memFile(files.swap);
  if (limited(m.swapHardLimitKiB) && !existsSync(swapFile)) {
    throw new FerryError(
      'CGROUP_UNAVAILABLE',
      `cannot set <memtune><swap_hard_limit>: cgroup file ${swapFile} does not exist on this host (no swap accounting)`,
      {
        hint: 'Boot the host kernel with swapaccount=1 (cgroup v1) or with swap control enabled (CONFIG_MEMCG_SWAP), or drop <swap_hard_limit>',
      },
    );
  }
  if (v2) {
    cg.write(cg.memFile(files.hard), bytes(m.hardLimitKiB));
    cg.write(cg.memFile(files.soft), bytes(m.softLimitKiB));
    if (existsSync(swapFile)) {
      const swap = m.swapHardLimitKiB;
      cg.write(swapFile, limited(swap) ? String((swap - (limited(m.hardLimitKiB) ? m.hardLimitKiB : 0)) * 1024) : 'max');
    }
    return;
  }
  // v1 keeps limit_in_bytes <= memsw.limit_in_bytes at every step: the one that grows goes first.
  const hard = cg.memFile(files.hard);
  const writeHard = (): void => cg.write(hard, bytes(m.hardLimitKiB));
  const writeSwap = (): void => {
    if (existsSync(swapFile)) cg.write(swapFile, bytes(m.swapHardLimitKiB));
  };
  const newHard = limited(m.hardLimitKiB) ? m.hardLimitKiB * 1024 : Infinity;
  const swapNow = existsSync(swapFile) ? Number(cg.read(swapFile)) : Infinity;
  if (newHard > swapNow) {
    writeSwap();
    writeHard();
  } else {
    writeHard();
    writeSwap();
  }
  cg.write(cg.memFile(files.soft), bytes(m.softLimitKiB));
}

/** The limits in force, in KiB (undefined: unlimited), as virsh memtune shows them. */
export function memoryLimits(cg: DomainCgroup): MemoryLimits {
  const v2 = cg.layout.version === 2;
  const kib = (file: string): number | undefined => {
    const path = cg.memFile(file);
    if (!existsSync(path)) return undefined;
    const t = cg.read(path);
    // v1's unlimited is the page-rounded LONG_MAX (9223372036854771712).
    if (t === 'max' || t === '-1' || Number(t) >= 2 ** 62) return undefined;
    return Number(t) / 1024;
  };
  if (v2) {
    const hard = kib('memory.max');
    const swap = kib('memory.swap.max');
    return { hardLimitKiB: hard, softLimitKiB: kib('memory.high'), swapHardLimitKiB: swap === undefined ? undefined : swap + (hard ?? 0) };
  }
  return { hardLimitKiB: kib('memory.limit_in_bytes'), softLimitKiB: kib('memory.soft_limit_in_bytes'), swapHardLimitKiB: kib('memory.memsw.limit_in_bytes') };
}
