import type { LibvirtHost } from './libvirt-host.js';
import type { MigrationOutcome } from './migration-outcome.js';

export interface LibvirtMigration {
  name: string;
  from: LibvirtHost;
  to: LibvirtHost;
  /** QEMU's stream to the destination: tcp://ADDRESS:PORT. */
  migrateUri: string;
  /** virsh migrate's flags besides --live: --bandwidth, --auto-converge, --postcopy. */
  flags: string[];
  /** With --postcopy: `virsh migrate-postcopy` after this many seconds, as an operator would type it. */
  postcopyAfterS?: number;
  /** A migration still running after this many seconds is aborted with `virsh domjobabort`. */
  abortAfterS: number;
}

/** libvirt's raw job statistics (`domjobinfo --rawstats`: name=value lines). */
export function parseRawStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^\s*([a-z_.]+)\s*[=:]\s*(-?\d+)\s*$/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}

/**
 * One `virsh migrate --live` from one libvirt host to the other, through virsh as an operator
 * runs it (virsh talks to both daemons; QEMU's stream goes straight to `migrateUri`). A
 * migration that has not finished after `abortAfterS` is aborted, after reading what it had
 * sent by then. Statistics of a completed one are those of the source's job-completed event
 * (else the destination's `domjobinfo --completed`).
 */
export async function migrateWithLibvirt(m: LibvirtMigration): Promise<MigrationOutcome> {
  // The source's job-completed event carries the statistics; after a post-copy migration the
  // destination has none (domjobinfo --completed: "Job type: None"), and the source domain is gone.
  const stopEvent = new AbortController();
  const event = m.from.virshUntil(stopEvent.signal, 'event', '--domain', m.name, '--event', 'job-completed', '--timeout', String(m.abortAfterS + 120));
  await sleep(1000);
  const t0 = performance.now();
  const running = m.from.virsh('migrate', '--live', ...m.flags, m.name, m.to.uri, '--migrateuri', m.migrateUri);
  let settled = false;
  void running.then(() => (settled = true));
  let postcopyError: string | undefined;
  const postcopy =
    m.postcopyAfterS !== undefined
      ? sleep(m.postcopyAfterS * 1000).then(async () => {
          if (settled) return;
          const r = await m.from.virsh('migrate-postcopy', m.name);
          if (r.code !== 0) postcopyError = r.stderr.trim();
        })
      : Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), m.abortAfterS * 1000)));
  const first = await Promise.race([running.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (first === 'deadline') {
    const stats = parseRawStats(await m.from.ok('domjobinfo', '--rawstats', m.name));
    await m.from.virsh('domjobabort', m.name);
    const r = await running;
    await postcopy;
    stopEvent.abort();
    await event;
    return {
      completed: false,
      why: `aborted after ${m.abortAfterS} s (domjobabort)${stats.auto_converge_throttle ? `, vCPUs throttled to ${stats.auto_converge_throttle} %` : ''}${r.code === 0 ? ', but virsh reported success' : ''}`,
      totalS: (performance.now() - t0) / 1000,
      ...(stats.time_elapsed !== undefined ? { jobS: stats.time_elapsed / 1000 } : {}),
      ...(stats.memory_processed !== undefined ? { bytes: stats.memory_processed } : {}),
    };
  }
  const r = await running;
  const totalS = (performance.now() - t0) / 1000;
  await postcopy;
  if (r.code !== 0) {
    stopEvent.abort();
    await event;
    return { completed: false, why: `virsh: ${r.stderr.trim()}${postcopyError ? `; migrate-postcopy: ${postcopyError}` : ''}`, totalS };
  }
  const waited = setTimeout(() => stopEvent.abort(), 5000);
  let stats = parseRawStats((await event).stdout);
  clearTimeout(waited);
  if (stats.time_elapsed === undefined) stats = parseRawStats(await m.to.ok('domjobinfo', '--completed', '--rawstats', m.name));
  return {
    completed: true,
    totalS,
    ...(stats.time_elapsed !== undefined ? { jobS: stats.time_elapsed / 1000 } : {}),
    ...(stats.downtime !== undefined ? { downtimeMs: stats.downtime } : {}),
    ...(stats.memory_processed !== undefined ? { bytes: stats.memory_processed } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
