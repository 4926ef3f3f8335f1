import { join } from 'node:path';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import type { QemuFileAccess } from './qemu-file-access.js';

/** Why a core dump is written: <on_crash> coredump-destroy/-restart, or <watchdog action='dump'>. */
export type CoreDumpReason = 'crash' | 'watchdog';

interface DumpStatus {
  status: 'none' | 'active' | 'completed' | 'failed';
  completed: number;
  total: number;
}

/**
 * The guest's memory written to a file, as libvirt's automatic dumps
 * (qemu.conf's auto_dump_path): QEMU's dump-guest-memory in ELF, without
 * paging, into `dir` (STATE_DIR/dump), named ID-NAME-TIMESTAMP as libvirt
 * names them. QEMU writes the file itself, so the directory is its user's.
 */
export class CoreDumps {
  constructor(private readonly o: { dir: string; access: QemuFileAccess; log: Logger; now?: () => Date; pollMs?: number }) {}

  /** Writes the dump of a running QEMU (its vCPUs stopped or not) and resolves with its path once QEMU is done. */
  async write(vm: { name: string; domainId: number | undefined; monitor: QemuMonitor }, reason: CoreDumpReason): Promise<string> {
    this.o.access.privateDir(this.o.dir);
    const path = join(this.o.dir, `${vm.domainId ?? 0}-${vm.name}-${timestamp((this.o.now ?? (() => new Date()))())}`);
    this.o.log.info({ vm: vm.name, reason, path }, 'writing a core dump of the guest');
    await vm.monitor.call('dump-guest-memory', { paging: false, protocol: `file:${path}`, detach: true });
    for (;;) {
      const s = await vm.monitor.call<DumpStatus>('query-dump');
      if (s.status === 'completed') return path;
      if (s.status === 'failed' || s.status === 'none')
        throw new FerryError('DUMP_FAILED', `operation failed: the core dump of domain '${vm.name}' to ${path} failed (QEMU's dump status: ${s.status})`);
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 200));
    }
  }
}

/** libvirt's dump file time stamp: 2026-11-30-16:05:09. */
function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
