import type { MigrationHost } from './migration-host.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { ActiveMigration } from './active-migration.js';
import { finishedMigration } from './finished-migration.js';
import { assertTransition, isFinal, type Phase } from './phases.js';

/**
 * Moves a source-side migration to its next phase: checks the transition,
 * writes it to the store before anything acts on it, and announces it. A
 * final phase (Succeeded, Failed, Cancelled) is counted in the metrics.
 */
export function recordSourcePhase(
  deps: { host: MigrationHost; migrations: MigrationStore; now: () => number; metrics?: MigrationMetrics | undefined },
  active: ActiveMigration,
  to: Phase,
  patch: { data?: Record<string, unknown>; stats?: Record<string, unknown>; error?: string } = {},
): void {
  const from = active.phase;
  assertTransition('source', from, to);
  deps.migrations.setPhase(active.id, 'source', to, patch);
  active.phase = to;
  active.job = { ...active.job, phase: to };
  deps.host.publish({ type: 'migration.phase', id: active.id, uuid: active.uuid, name: active.name, side: 'source', from, to, at: deps.now() });
  if (isFinal(to)) deps.metrics?.migrationFinished(finishedMigration('out', to, deps.now() - active.startedAt, active.job));
}
