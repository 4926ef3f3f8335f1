import type { QemuMonitor } from './monitor.js';

/** The QOM path of the balloon libvirt and ferry name balloon0. */
const BALLOON_PATH = '/machine/peripheral/balloon0';

/** QEMU's guest-stats (virtio-balloon's QOM property): each stat, 2^64-1 (uint64 -1) when the guest did not report it. */
export interface BalloonGuestStats {
  stats: Record<string, number>;
  'last-update': number;
}

/** The balloon commands of QEMU's monitor: the target size and the guest's memory statistics. */
export class BalloonMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  /** The guest's memory size as the balloon leaves it, in bytes (query-balloon). */
  async actualBytes(): Promise<number> {
    return (await this.monitor.call<{ actual: number }>('query-balloon')).actual;
  }

  /** Inflates or deflates the balloon so the guest has `bytes` of memory. */
  async setTarget(bytes: number): Promise<void> {
    await this.monitor.call('balloon', { value: bytes });
  }

  /** Seconds between the guest's statistics reports; 0 stops them. */
  async setStatsPeriod(seconds: number): Promise<void> {
    await this.monitor.call('qom-set', { path: BALLOON_PATH, property: 'guest-stats-polling-interval', value: seconds });
  }

  async guestStats(): Promise<BalloonGuestStats> {
    return this.monitor.call<BalloonGuestStats>('qom-get', { path: BALLOON_PATH, property: 'guest-stats' });
  }
}
