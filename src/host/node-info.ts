import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { NodeInfo } from '../shared/api-types.js';

/** Reads the host's CPU and memory topology from /proc and /sys. */
export function readNodeInfo(): NodeInfo {
  const cpus = os.cpus();
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    cpuinfo = '';
  }
  const field = (name: string): string[] => [...cpuinfo.matchAll(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
  const sockets = new Set(field('physical id')).size || 1;
  const cores = Number(field('cpu cores')[0] ?? 0) || Math.max(1, Math.floor(cpus.length / sockets));
  const siblings = Number(field('siblings')[0] ?? 0) || cores;
  let numaCells = 1;
  try {
    numaCells = readdirSync('/sys/devices/system/node').filter((n) => /^node\d+$/.test(n)).length || 1;
  } catch {
    numaCells = 1;
  }
  return {
    cpuModel: os.arch() === 'x64' ? 'x86_64' : os.arch(),
    cpus: cpus.length,
    mhz: Math.round(Number(field('cpu MHz')[0] ?? cpus[0]?.speed ?? 0)),
    sockets,
    coresPerSocket: cores,
    threadsPerCore: Math.max(1, Math.round(siblings / cores)),
    numaCells,
    memoryKiB: Math.floor(os.totalmem() / 1024),
  };
}

/** CPU time a process has used, in seconds (utime + stime from /proc/PID/stat). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return undefined;
  }
}

/** The real uid and gid a process runs as, libvirt's DAC label form (+UID:+GID), from the kernel; undefined when gone. */
export function processDacLabel(pid: number): string | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1];
    return uid !== undefined && gid !== undefined ? `+${uid}:+${gid}` : undefined;
  } catch {
    return undefined;
  }
}
