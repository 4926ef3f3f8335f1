import { choice, integer, record, type Static, text } from './typed-schema.js';

/** A storage volume as `vol-info` / `vol-list --details` show it (the API's reply). */
export const volumeInfoSchema = record({
  name: text(),
  path: text(),
  type: choice(['file', 'block']),
  format: text(),
  capacity: integer('Bytes the guest sees'),
  allocation: integer('Bytes used on the host'),
});
export type VolumeInfo = Static<typeof volumeInfoSchema>;

export interface VolumeSpec {
  name: string;
  format: 'raw' | 'qcow2';
  capacity: number;
  /** Bytes to allocate up front (raw: preallocation=falloc when equal to capacity). */
  allocation?: number;
}

/** A pool's sizes in bytes. */
export const poolStatsSchema = record({ capacity: integer(), allocation: integer(), available: integer() }, 'Bytes (with details, or for one pool)');
export type PoolStats = Static<typeof poolStatsSchema>;

/** Parses virsh's scaled integers: "10G", "512M", "1GiB", "1000KB"; bare numbers are bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const factors: Record<string, number> = {
    '': 1,
    b: 1,
    bytes: 1,
    k: 1024,
    kib: 1024,
    kb: 1000,
    m: 1024 ** 2,
    mib: 1024 ** 2,
    mb: 1000 ** 2,
    g: 1024 ** 3,
    gib: 1024 ** 3,
    gb: 1000 ** 3,
    t: 1024 ** 4,
    tib: 1024 ** 4,
    tb: 1000 ** 4,
  };
  const f = factors[unit];
  if (f === undefined) return undefined;
  return Math.round(Number(m[1]) * f);
}

/** virsh's vshPrettyCapacity: the value in the largest binary unit below it, "97.87 GiB" (domjobinfo prints 3 decimals). */
export function prettyCapacity(bytes: number, decimals = 2): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(decimals)} ${units[i]}`;
}

/** The pool types ferry knows (libvirt's names). */
export const POOL_TYPES = ['dir', 'netfs', 'fs', 'logical', 'iscsi', 'gluster'] as const;
export type PoolType = (typeof POOL_TYPES)[number];
