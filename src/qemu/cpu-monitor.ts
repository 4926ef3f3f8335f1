import { QmpTimeoutError } from '../qmp/errors.js';
import type { QemuMonitor } from './monitor.js';

/** One running vCPU as query-cpus-fast reports it. */
export interface QemuCpu {
  'cpu-index': number;
  'thread-id': number;
  'qom-path': string;
  props: Record<string, number>;
}

/** One CPU slot of query-hotpluggable-cpus: its device type and properties, and the path of the CPU in it (absent: empty). */
export interface QemuCpuSlot {
  type: string;
  props: Record<string, number>;
  'qom-path'?: string;
}

/** The vCPU commands of QEMU's monitor: list, plug and unplug CPUs. */
export class CpuMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  cpus(): Promise<QemuCpu[]> {
    return this.monitor.call<QemuCpu[]>('query-cpus-fast');
  }

  slots(): Promise<QemuCpuSlot[]> {
    return this.monitor.call<QemuCpuSlot[]>('query-hotpluggable-cpus');
  }

  async add(driver: string, id: string, props: Record<string, number>): Promise<void> {
    await this.monitor.call('device_add', { driver, id, ...props });
  }

  /**
   * Asks the guest to give the CPU back and waits for QEMU's DEVICE_DELETED
   * (the guest ejects it through ACPI); false when it did not within `timeoutMs`.
   */
  async remove(id: string, timeoutMs: number): Promise<boolean> {
    const deleted = this.monitor.listen((e) => e.event === 'DEVICE_DELETED' && (e.data as { device?: string } | undefined)?.device === id);
    try {
      await this.monitor.call('device_del', { id });
      await deleted.next({ timeoutMs });
      return true;
    } catch (err) {
      if (err instanceof QmpTimeoutError) return false;
      throw err;
    } finally {
      deleted.close();
    }
  }
}
