import type { Logger } from 'pino';
import type { MigrationHistoryEntry } from '../../shared/api-types.js';
import type { MigrationForecast } from '../../shared/migration-forecast.js';
import { DIRTY_RATE_WINDOW_MS, DirtyRateMonitor, dirtyRateModeFor } from '../../qemu/dirty-rate.js';
import type { MigrationHost } from '../migration-host.js';
import type { MigrationOptions } from '../../shared/migration-options-schema.js';
import { forecastMigration } from './forecast-migration.js';
import { residentGuestBytes } from './guest-resident.js';

export interface ForecasterDeps {
  host: Pick<MigrationHost, 'runningDomain'>;
  /** The domain's migrate-setspeed / migrate-setmaxdowntime values. */
  settings: (uuid: string) => { bandwidthMiBs: number; downtimeMs: number; downtimeExplicit?: boolean };
  /** This host's recent migrations, newest last (MigrationHistory.list). */
  history: () => MigrationHistoryEntry[];
  /** migrate_dirty_rate_window_ms: the measurement's window; 0: not measured. */
  windowMs: number;
  /** Pages sampled per GiB under page sampling (QEMU's default is 512; more is steadier). */
  samplePages?: number;
  log: Logger;
}

/**
 * Pages sampled per GiB: QEMU's most. Over a 100 ms window each sampled page that changed stands for 64 KiB in
 * 0.1 s (0.6 MiB/s), whatever the guest's size, so a guest dirtying a few MiB/s is told from one that never converges
 * over a slow link; hashing 64 MiB per GiB of guest RAM twice costs a few ms.
 */
export const DEFAULT_SAMPLE_PAGES = 16_384;

/** The forecast of a running domain's live migration (forecastMigration with this host's QEMU, /proc and history). */
export class MigrationForecaster {
  constructor(private readonly d: ForecasterDeps) {}

  /**
   * KVM's dirty bitmap mode clears the dirty log it reads, so it must not overlap the migration's own tracking:
   * the source waits for it before Perform. Page sampling (TCG) and the dirty ring can run while QEMU migrates.
   */
  measuresBeforePerform(uuid: string, options: MigrationOptions): boolean {
    const vm = this.d.host.runningDomain(uuid);
    if (!vm || !options.live || this.windowOf(options) === 0) return false;
    return dirtyRateModeFor(vm.accel, vm.def.platform.dirtyRingSize) === 'dirty-bitmap';
  }

  /** Starts gathering; undefined when nothing runs to forecast (a shut-off domain, an offline migration). */
  forecast(uuid: string, destUri: string, options: MigrationOptions): Promise<MigrationForecast> | undefined {
    const vm = this.d.host.runningDomain(uuid);
    if (!vm || options.offline) return undefined;
    const windowMs = this.windowOf(options);
    const guestRamBytes = vm.def.memoryKiB * 1024;
    const mode = dirtyRateModeFor(vm.accel, vm.def.platform.dirtyRingSize);
    const monitor = new DirtyRateMonitor(vm.monitor);
    const log = this.d.log.child({ vm: vm.name });
    return forecastMigration({
      uuid,
      destUri,
      options,
      guestRamBytes,
      settings: this.d.settings(uuid),
      ...(windowMs > 0 && vm.status.state === 'running'
        ? {
            measureDirtyRate: () =>
              monitor.measure({ windowMs, mode, samplePages: this.d.samplePages ?? DEFAULT_SAMPLE_PAGES }).catch((err: unknown) => {
                log.warn({ err }, 'could not measure the dirty rate for the migration forecast');
                throw err;
              }),
          }
        : {}),
      residentBytes: () => residentGuestBytes(vm.pid, guestRamBytes),
      history: this.d.history,
    });
  }

  /** The window asked for (the option, else ferryd.conf's); QEMU measures for 50 ms at least. */
  private windowOf(options: MigrationOptions): number {
    const asked = options.dirtyRateWindowMs ?? this.d.windowMs;
    return asked > 0 ? Math.max(DIRTY_RATE_WINDOW_MS.min, asked) : 0;
  }
}
