import type { FinishedMigration, MigrationOutcome } from '../metrics/ferry-metrics.js';
import type { Phase } from './phases.js';

const OUTCOME: Partial<Record<Phase, MigrationOutcome>> = { Succeeded: 'succeeded', Failed: 'failed', Cancelled: 'cancelled' };

/** A migration's final phase and job statistics, as the metrics count them (downtime and bytes when QEMU reported them). */
export function finishedMigration(
  direction: 'out' | 'in',
  phase: Phase,
  elapsedMs: number,
  job: { downtimeMs?: unknown; dataProcessed?: unknown; diskProcessed?: unknown } | undefined,
): FinishedMigration {
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const downtime = num(job?.downtimeMs);
  const data = num(job?.dataProcessed);
  const disk = num(job?.diskProcessed);
  return {
    direction,
    outcome: OUTCOME[phase] ?? 'failed',
    totalSeconds: Math.max(0, elapsedMs) / 1000,
    ...(phase === 'Succeeded' && downtime !== undefined ? { downtimeSeconds: downtime / 1000 } : {}),
    ...(data !== undefined || disk !== undefined ? { bytes: (data ?? 0) + (disk ?? 0) } : {}),
  };
}
