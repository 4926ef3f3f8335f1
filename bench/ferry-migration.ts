import type { MigrationHistoryEntry } from '../src/shared/api-types.js';
import type { ForecastOutcome, MigrationForecast } from '../src/shared/migration-forecast.js';
import type { MigrationOutcome } from './migration-outcome.js';
import type { Topology } from './side-by-side-topology.js';

export interface FerryMigration {
  name: string;
  from: string;
  to: string;
  /** `ferry migrate --live`'s flags; none: the default policy (auto) decides everything. */
  flags: string[];
  /** Still running after this many seconds (a policy that never ends it): `ferry domjobabort`. */
  abortAfterS: number;
}

/** What `migrate-check --json` forecasts, in one cell: pre-copy's call, the policy's plan, and the link and dirty rates it used. */
export function forecastCell(f: MigrationForecast): string {
  const precopy = f.converges
    ? `converges in ${f.totalSeconds.toFixed(1)} s, ${Math.round(f.downtimeMs ?? 0)} ms`
    : `pre-copy never converges (${f.passes} passes, ${f.totalSeconds.toFixed(1)} s)`;
  const MiB = 2 ** 20;
  const i = f.inputs;
  const inputs = `link ${Math.round(i.linkBytesPerSec / MiB)} MiB/s (${i.linkSource}), dirty ${Math.round(i.dirtyBytesPerSec / MiB)} MiB/s (${i.dirtyRateSource})`;
  const switchAt = f.postcopy ? `, post-copy switch at ${f.postcopy.switchAtSeconds.toFixed(1)} s` : '';
  return `${f.policy ? `${precopy}; ${f.policy.policy}: ${f.policy.summary}` : precopy}${switchAt} [${inputs}]`;
}

/** The forecast the migration made for itself (its own measurement, recorded in history): the one its policy planned from. */
function recordedCell(f: ForecastOutcome): string {
  const p = f.predicted;
  const dirty = `dirty ${Math.round(p.inputs.dirtyBytesPerSec / 2 ** 20)} MiB/s (${p.inputs.dirtyRateSource})`;
  return `${p.converges ? `converges in ${p.totalSeconds.toFixed(1)} s` : 'pre-copy never converges'} [${dirty}]`;
}

/**
 * One `ferry migrate --live` between the topology's hosts, after `ferry migrate-check --json`
 * with the same flags (the forecast the table shows beside the outcome; the migration measures
 * again for itself). The figures are the source's history entry: QEMU's total time, downtime
 * and bytes, the outcome, and the policy's last step.
 */
export async function migrateWithFerry(topo: Topology, m: FerryMigration): Promise<MigrationOutcome> {
  const dest = topo.ferryPeerUri(m.to);
  const check = await topo.ferry(m.from, 'migrate-check', '--live', ...m.flags, '--json', m.name, dest);
  const forecast = (JSON.parse(check.stdout) as { forecast: MigrationForecast | null }).forecast;
  const t0 = performance.now();
  const running = topo.ferry(m.from, 'migrate', '--live', ...m.flags, m.name, dest);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), m.abortAfterS * 1000)));
  const first = await Promise.race([running.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (first === 'deadline') await topo.ferry(m.from, 'domjobabort', m.name);
  const r = await running;
  const totalS = (performance.now() - t0) / 1000;
  const [h] = JSON.parse((await topo.ferry(m.from, 'migrate-history', m.name, '--limit', '1', '--json')).stdout) as MigrationHistoryEntry[];
  const stats = (h?.stats ?? {}) as { qemuTotalTimeMs?: number; policyStep?: string; policyReason?: string };
  const completed = r.code === 0 && h?.outcome === 'Succeeded';
  const why = first === 'deadline' ? `aborted after ${m.abortAfterS} s (domjobabort)` : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`);
  return {
    completed,
    ...(completed ? {} : { why }),
    totalS,
    ...(stats.qemuTotalTimeMs !== undefined ? { jobS: stats.qemuTotalTimeMs / 1000 } : {}),
    ...(h?.downtimeMs != null ? { downtimeMs: h.downtimeMs } : {}),
    ...(h?.bytes != null ? { bytes: h.bytes } : {}),
    forecast: `${forecast ? forecastCell(forecast) : `none: ${check.stderr.trim().split('\n')[0] ?? ''}`}; the migration's own: ${h?.forecast ? recordedCell(h.forecast) : 'none recorded'}`,
    ...(stats.policyStep ? { policyStep: stats.policyStep } : {}),
  };
}
