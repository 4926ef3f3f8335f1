import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
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

/**
 * A disk's size as the guest sees it, for telling whether two hosts see the
 * same disk: a block device's size; a qcow2 image's virtual size (from its
 * header: the file itself grows while the guest writes new clusters, so two
 * looks a moment apart differ); any other file's length. Throws when the path
 * cannot be read.
 */
export function diskSize(path: string): number {
  const st = statSync(path);
  if (st.isBlockDevice()) return blockDeviceSize(path) ?? 0;
  const header = Buffer.alloc(32);
  const fd = openSync(path, 'r');
  try {
    if (readSync(fd, header, 0, 32, 0) === 32 && header.readUInt32BE(0) === 0x514649fb) return Number(header.readBigUInt64BE(24));
  } finally {
    closeSync(fd);
  }
  return st.size;
}
