import type { QemuMonitor } from './monitor.js';

/** One guest disk's I/O counters (query-blockstats' BlockDeviceStats, the fields libvirt reads). */
export interface QemuBlockStats {
  rd_bytes: number;
  wr_bytes: number;
  rd_operations: number;
  wr_operations: number;
  flush_operations: number;
  rd_total_time_ns: number;
  wr_total_time_ns: number;
  flush_total_time_ns: number;
  wr_highest_offset: number;
}

interface BlockstatsEntry {
  qdev?: string;
  device?: string;
  stats: QemuBlockStats;
}

interface BlockEntry {
  qdev?: string;
  inserted?: { image?: { 'virtual-size'?: number; 'actual-size'?: number } };
}

/** A disk's counters and sizes, keyed by its target (vda): ferry names each disk device disk-<target>. */
export interface DiskCounters {
  stats: QemuBlockStats;
  capacity?: number;
  physical?: number;
}

/** The qdev id ferry gives a disk (disk-vda), from query-block's qdev, which may be a QOM path (/machine/peripheral/disk-vda/virtio-backend). */
function targetOf(qdev: string | undefined): string | undefined {
  if (!qdev) return undefined;
  return /^(?:\/machine\/peripheral\/)?disk-([^/]+)/.exec(qdev)?.[1];
}

/** The monitor commands statistics read at each call (domstats, domblkstat, /metrics): nothing here changes QEMU. */
export class StatsMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  /** Every guest disk's counters (query-blockstats) and sizes (query-block), by target. */
  async disks(): Promise<Map<string, DiskCounters>> {
    const [stats, blocks] = await Promise.all([this.monitor.call<BlockstatsEntry[]>('query-blockstats'), this.monitor.call<BlockEntry[]>('query-block')]);
    const out = new Map<string, DiskCounters>();
    for (const s of stats) {
      const target = targetOf(s.qdev);
      if (target) out.set(target, { stats: s.stats });
    }
    for (const b of blocks) {
      const target = targetOf(b.qdev);
      const entry = target ? out.get(target) : undefined;
      const image = b.inserted?.image;
      if (!entry || !image) continue;
      if (image['virtual-size'] !== undefined) entry.capacity = image['virtual-size'];
      if (image['actual-size'] !== undefined) entry.physical = image['actual-size'];
    }
    return out;
  }
}
