import { readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';

/** The host's CPU feature flags (/proc/cpuinfo). */
export function cpuFlags(): string[] {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? (m[1] as string).split(/\s+/).filter(Boolean) : [];
  } catch {
    return [];
  }
}

/** Every address of this host's interfaces. */
export function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => a !== undefined)
    .map((a) => a.address);
}

/** A block device's size in bytes (from sysfs), or undefined. */
export function blockDeviceSize(path: string): number | undefined {
  try {
    const name = realpathSync(path).split('/').pop() as string;
    return Number(readFileSync(`/sys/class/block/${name}/size`, 'utf8').trim()) * 512;
  } catch {
    return undefined;
  }
}
