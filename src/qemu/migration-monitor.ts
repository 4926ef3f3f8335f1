import { FerryError } from '../errors/ferry-error.js';
import type { QemuMonitor } from './monitor.js';

/** query-migrate's reply (qapi/migration.json MigrationInfo), the fields ferry reads. */
export interface QemuMigrationInfo {
  status?: string;
  'total-time'?: number;
  'setup-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
  'blocked-reasons'?: string[];
  'socket-address'?: Array<{ type: string; host?: string; port?: string }>;
  ram?: {
    transferred: number;
    remaining: number;
    total: number;
    duplicate: number;
    normal: number;
    'normal-bytes': number;
    'dirty-pages-rate': number;
    mbps: number;
    'dirty-sync-count': number;
    'postcopy-requests': number;
    'page-size': number;
    'multifd-bytes'?: number;
    'precopy-bytes'?: number;
    'downtime-bytes'?: number;
    'postcopy-bytes'?: number;
  };
  'xbzrle-cache'?: { 'cache-size': number; bytes: number; pages: number; 'cache-miss': number; 'cache-miss-rate': number; overflow: number };
}

export type MigrationCapabilities = Record<string, boolean>;

/** The migration commands of QEMU's monitor, typed (QEMU 7.2 – 10.0). */
export class MigrationMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  async setCapabilities(caps: MigrationCapabilities): Promise<void> {
    const capabilities = Object.entries(caps).map(([capability, state]) => ({ capability, state }));
    if (capabilities.length > 0) await this.monitor.call('migrate-set-capabilities', { capabilities });
  }

  async setParameters(params: Record<string, unknown>): Promise<void> {
    if (Object.keys(params).length > 0) await this.monitor.call('migrate-set-parameters', params);
  }

  queryParameters(): Promise<Record<string, unknown>> {
    return this.monitor.call('query-migrate-parameters');
  }

  async queryCapabilities(): Promise<MigrationCapabilities> {
    const list = await this.monitor.call<Array<{ capability: string; state: boolean }>>('query-migrate-capabilities');
    return Object.fromEntries(list.map((c) => [c.capability, c.state]));
  }

  query(): Promise<QemuMigrationInfo> {
    return this.monitor.call<QemuMigrationInfo>('query-migrate');
  }

  /** Source: start sending to `uri` (tcp:host:port). */
  async migrate(uri: string): Promise<void> {
    await this.monitor.call('migrate', { uri }).catch((err: unknown) => {
      // Seen once with QEMU 10.0.2 after a migration whose connection was reset: the previous migration's yank instance
      // was never unregistered, and every later `migrate` of this QEMU is refused. Only a new QEMU clears it.
      if (err instanceof FerryError && /duplicate yank instance/.test(err.message)) {
        throw new FerryError(
          'MIG_FAILED',
          `operation failed: QEMU refuses a new migration of this domain: ${err.message} (its previous migration was not cleaned up inside QEMU)`,
          {
            cause: err,
            hint: 'The domain keeps running here. QEMU itself must be replaced to migrate it: shut the guest down and start it again (or managedsave and start), then migrate',
          },
        );
      }
      throw err;
    });
  }

  /** Destination: start listening (QEMU was started with -incoming defer). */
  async incoming(uri: string): Promise<void> {
    await this.monitor.call('migrate-incoming', { uri });
  }

  async cancel(): Promise<void> {
    await this.monitor.call('migrate_cancel');
  }

  /** Lets a migration paused by pause-before-switchover go on to the switch. */
  async continueFromPreSwitchover(): Promise<void> {
    await this.monitor.call('migrate-continue', { state: 'pre-switchover' });
  }

  /** Source, post-copy paused: reconnect to the destination's new listener (`migrate` with resume, QEMU 3.0+). */
  async resume(uri: string): Promise<void> {
    await this.monitor.call('migrate', { uri, resume: true });
  }

  /** Destination, post-copy paused: listen again for the source's resume (QEMU 3.0+; may be repeated since 8.1). */
  async recover(uri: string): Promise<void> {
    await this.monitor.call('migrate-recover', { uri });
  }

  /** Either side, in post-copy: break the connection on purpose; both QEMUs go to postcopy-paused (virsh domjobabort --postcopy). */
  async pause(): Promise<void> {
    await this.monitor.call('migrate-pause');
  }

  async startPostcopy(): Promise<void> {
    await this.monitor.call('migrate-start-postcopy');
  }

  /** Sends RARP/GARP-style announcements for every NIC (after the switch). */
  async announceSelf(params: { initial: number; max: number; rounds: number; step: number } = { initial: 50, max: 550, rounds: 5, step: 100 }): Promise<void> {
    await this.monitor.call('announce-self', params);
  }
}
