import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { type AccelProbeResult, probeAccelerator } from '../qemu/accel-probe.js';
import type { CpuCatalog } from '../shared/cpu-catalog.js';
import { probeCpuCatalog } from '../qemu/cpu-catalog.js';
import { probeCpuModels, type QemuBinaryInfo, probeQemuBinary } from '../qemu/binary.js';
import type { UnixAccount } from '../system/unix-user.js';

export type AccelSetting = 'auto' | 'kvm' | 'tcg';

/**
 * What the host's QEMU can do, asked once and remembered: version and machine
 * types per binary (asked again when the binary changes), and whether KVM works.
 */
export class QemuCapabilities {
  private readonly binaries = new Map<string, { stamp: string; info: Promise<QemuBinaryInfo> }>();
  private readonly accels = new Map<string, Promise<AccelProbeResult>>();
  private readonly cpuModelLists = new Map<string, Promise<string[]>>();
  private readonly cpuCatalogs = new Map<string, Promise<CpuCatalog>>();

  constructor(
    private readonly options: {
      accel: AccelSetting;
      log: Logger;
      probeDir: string;
      account?: UnixAccount | undefined;
      devKvm?: string;
      probeTimeoutMs?: number;
    },
  ) {}

  binary(path: string): Promise<QemuBinaryInfo> {
    const stamp = stampOf(path);
    const cached = this.binaries.get(path);
    if (cached && cached.stamp === stamp) return cached.info;
    const info = probeQemuBinary(path);
    this.binaries.set(path, { stamp, info });
    info.catch(() => this.binaries.delete(path));
    return info;
  }

  /** The named CPU models of a binary, asked once. */
  cpuModels(path: string): Promise<string[]> {
    let models = this.cpuModelLists.get(path);
    if (!models) {
      models = probeCpuModels(path);
      models.catch(() => this.cpuModelLists.delete(path));
      this.cpuModelLists.set(path, models);
    }
    return models;
  }

  /**
   * The binary's CPU models under the accelerator domains get here, each with
   * its unavailable features and feature set, and the host CPU's features: asked once.
   */
  cpuCatalog(path: string): Promise<CpuCatalog> {
    let catalog = this.cpuCatalogs.get(path);
    if (!catalog) {
      catalog = this.accel(path).then(({ accel }) => probeCpuCatalog({ binary: path, accel, account: this.options.account }));
      catalog.catch(() => this.cpuCatalogs.delete(path));
      this.cpuCatalogs.set(path, catalog);
    }
    return catalog;
  }

  /** KVM or TCG for this binary: forced by the accel setting, else probed once. */
  accel(path: string): Promise<AccelProbeResult> {
    if (this.options.accel === 'tcg') return Promise.resolve({ accel: 'tcg', reason: 'accel = "tcg" in ferryd.conf' });
    if (this.options.accel === 'kvm') return Promise.resolve({ accel: 'kvm', reason: 'accel = "kvm" in ferryd.conf' });
    let result = this.accels.get(path);
    if (!result) {
      const dir = `${this.options.probeDir}/${this.accels.size}`;
      result = probeAccelerator({
        binary: path,
        dir,
        account: this.options.account,
        ...(this.options.devKvm ? { devKvm: this.options.devKvm } : {}),
        ...(this.options.probeTimeoutMs ? { timeoutMs: this.options.probeTimeoutMs } : {}),
      });
      void result.then((r) => this.options.log.info({ binary: path, ...r }, `accelerator: ${r.accel}`));
      this.accels.set(path, result);
    }
    return result;
  }
}

function stampOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}/${s.mtimeMs}`;
  } catch {
    return 'unresolved';
  }
}
