import { FerryError } from '../errors/ferry-error.js';
import type { RunningDomain } from '../host/running-domain.js';
import type { MigrationMonitor } from '../qemu/migration-monitor.js';

/**
 * Waits for the incoming side to finish loading: the source reports
 * "completed" once everything is sent, the destination a moment later.
 */
export async function waitIncoming(mm: MigrationMonitor, vm: RunningDomain, postcopy: boolean, timeoutMs = 30_000): Promise<void> {
  const events = vm.monitor.listen(['MIGRATION']);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const info = await mm.query();
      const status = info.status ?? 'none';
      if (status === 'completed' || (postcopy && status.startsWith('postcopy'))) return;
      if (status === 'failed' || status === 'cancelled' || status === 'none' || Date.now() > deadline) {
        throw new FerryError('MIG_FAILED', `operation failed: incoming migration is '${status}'${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
      }
      await events.next({ timeoutMs: 50 }).catch(() => undefined);
    }
  } finally {
    events.close();
  }
}
