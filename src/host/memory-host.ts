import { existsSync, readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { hugepageSizesKiB, type MemoryPaths } from '../qemu/devices/memory.js';
import type { DomainDefinition } from '../vm/definition.js';
import { numatuneMemoryNodeset, parseNodeset } from '../vm/memory-layout.js';

/** The host facts the memory layout depends on; read from /proc and /sys, injectable for tests. */
export interface MemoryHostFacts {
  /** /sys/devices/system/node/online, e.g. "0" or "0-1". */
  onlineNodes: string;
  /** /proc/mounts. */
  mounts: string;
  /** /proc/meminfo. */
  meminfo: string;
  /** /proc/self/limits (QEMU inherits ferryd's limits). */
  limits: string;
}

export function readMemoryHostFacts(): MemoryHostFacts {
  const read = (p: string, fallback: string): string => (existsSync(p) ? readFileSync(p, 'utf8') : fallback);
  return {
    onlineNodes: read('/sys/devices/system/node/online', '0').trim(),
    mounts: read('/proc/mounts', ''),
    meminfo: read('/proc/meminfo', ''),
    limits: read('/proc/self/limits', ''),
  };
}

const SIZE_SUFFIX: Record<string, number> = { K: 1, M: 1024, G: 1024 * 1024 };

/** hugetlbfs mounts by page size (KiB): the pagesize= option, else the host's default size. */
export function hugetlbfsMounts(mounts: string, defaultKiB: number): Record<number, string> {
  const out: Record<number, string> = {};
  for (const line of mounts.split('\n')) {
    const [, dir, type, opts] = line.split(' ');
    if (type !== 'hugetlbfs' || dir === undefined) continue;
    const m = /(?:^|,)pagesize=(\d+)([KMG])/.exec(opts ?? '');
    const size = m ? Number(m[1]) * (SIZE_SUFFIX[m[2]] ?? 1) : defaultKiB;
    out[size] ??= dir.replace(/\\040/g, ' ');
  }
  return out;
}

/**
 * Checks what a definition's memory layout needs from this host and says
 * where its file-backed RAM goes; refuses with a coded error naming what is
 * missing (a host NUMA node, a hugepage size, the locked-memory limit).
 */
export function resolveMemoryPaths(def: DomainDefinition, fileDir: string, facts: MemoryHostFacts): MemoryPaths {
  const online = new Set(parseNodeset(facts.onlineNodes || '0', 'node'));
  const wanted: Array<[string, string]> = [];
  const t = def.memoryLayout?.numatune;
  const memoryNodes = t?.memory ? numatuneMemoryNodeset(t.memory, def.numaAdvice) : undefined;
  if (memoryNodes !== undefined) wanted.push(['<numatune><memory>', memoryNodes]);
  for (const m of t?.memnodes ?? []) wanted.push([`<numatune><memnode cellid='${m.cellid}'>`, m.nodeset]);
  (def.devices.memories ?? []).forEach((m, i) => {
    if (m.nodemask !== undefined) wanted.push([`<memory model='${m.model}'> #${i} <nodemask>`, m.nodemask]);
  });
  for (const [where, nodeset] of wanted) {
    const missing = parseNodeset(nodeset, 'numatune').filter((n) => !online.has(n));
    if (missing.length > 0) {
      throw new FerryError(
        'HOST_NUMA_NODE_MISSING',
        `${where} names host NUMA node${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, but this host has only ${facts.onlineNodes}`,
        { details: { nodeset, online: facts.onlineNodes } },
      );
    }
  }
  const defaultHugepageKiB = Number(/Hugepagesize:\s+(\d+) kB/.exec(facts.meminfo)?.[1] ?? 2048);
  const hugepageMounts = hugetlbfsMounts(facts.mounts, defaultHugepageKiB);
  for (const size of hugepageSizesKiB(def, defaultHugepageKiB)) {
    if (hugepageMounts[size] === undefined) {
      throw new FerryError('HOST_HUGEPAGES_UNAVAILABLE', `no hugetlbfs is mounted for ${size} KiB pages on this host`, { details: { sizeKiB: size } });
    }
  }
  if (def.memoryLayout?.backing?.locked) {
    const m = /^Max locked memory\s+(\S+)/m.exec(facts.limits);
    const soft = m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? 0);
    const need = (def.memoryLayout.maxMemory?.kib ?? def.memoryKiB) * 1024 + 1024 ** 3;
    if (soft < need) {
      throw new FerryError('HOST_MEMLOCK_LIMIT', `<locked/> needs ${need} bytes of lockable memory; QEMU would get ${m?.[1] ?? 'unknown'}`, {
        details: { need, limit: m?.[1] },
      });
    }
  }
  return { fileDir, hugepageMounts, defaultHugepageKiB };
}
