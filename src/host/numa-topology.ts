import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpuset } from '../vm/cpuset.js';

/** One host NUMA node as sysfs shows it. */
export interface HostNumaNode {
  id: number;
  /** Its CPUs (node<N>/cpulist); empty for a memory-only node. */
  cpus: number[];
  /** node<N>/meminfo MemTotal, KiB. */
  memTotalKiB: number;
  /** What a guest can get there now, KiB: MemFree plus the inactive page cache (Inactive(file)), which the kernel reclaims first. */
  memFreeKiB: number;
}

/** Where the kernel lists NUMA nodes. */
export const SYS_NODE_DIR = '/sys/devices/system/node';

/**
 * The host's NUMA nodes, read from `dir` (/sys/devices/system/node: node<N>/cpulist
 * and node<N>/meminfo), by id; empty when the kernel shows no nodes there.
 */
export function readHostNumaTopology(dir: string = SYS_NODE_DIR): HostNumaNode[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^node(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const nodeDir = join(dir, m[0]);
      const cpulist = readOptional(join(nodeDir, 'cpulist')).trim();
      const meminfo = readOptional(join(nodeDir, 'meminfo'));
      return {
        id: Number(m[1]),
        cpus: cpulist === '' ? [] : parseCpuset(cpulist, 'host'),
        memTotalKiB: meminfoKiB(meminfo, 'MemTotal'),
        memFreeKiB: meminfoKiB(meminfo, 'MemFree') + meminfoKiB(meminfo, 'Inactive(file)'),
      };
    })
    .sort((a, b) => a.id - b.id);
}

/** A "Node N Field:   123 kB" line of a node's meminfo, KiB (0 when absent). */
function meminfoKiB(meminfo: string, field: string): number {
  const escaped = field.replace(/[()]/g, '\\$&');
  const m = new RegExp(`^Node \\d+ ${escaped}:\\s+(\\d+) kB`, 'm').exec(meminfo);
  return m ? Number(m[1]) : 0;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
