/**
 * Migration benchmark: two ferryd on this machine, the test guest, live
 * migrations back and forth. Prints one JSON line per migration:
 *
 *   ferryWallMs    wall time of the `ferry migrate` command (node start-up included)
 *   daemonWallMs   the source ferryd's own time from Begin to the end of Confirm
 *   qemuTotalMs    QEMU's total-time (from `migrate` to completion)
 *   preflightMs    the pre-flight checks alone (one API call to migrate-check, both hosts' checks)
 *   overheadMs     ferryWallMs - qemuTotalMs (ferry's control-plane overhead, pre-flight included)
 *   daemonOverheadMs daemonWallMs - qemuTotalMs
 *   downtimeMs, bytes, passes
 *   hbGapMs        the longest time between two of the guest's heartbeats (one every --hb ms) as
 *                  the host saw them appear on the serial consoles: the pause the guest itself
 *                  lived through (with --non-live: the whole transfer)
 *
 * Usage: node dist/bench/migration.js [--vm MiB] [--touch MiB] [--dirty MiB/s] [--hb ms]
 *          [--bandwidth MiB/s] [--runs N] [--channels N | --single-channel] [--prefault GiB] [--non-live]
 *          [--dirty-rate-window ms]
 *
 * --dirty-rate-window is passed to `ferry migrate` (the forecast's measurement; 0: none), to
 * compare a migration with and without it. preflightMs never includes the measurement.
 *
 * --prefault touches that much of the machine's memory before the VM boots
 * (bench/prefault-memory.ts: on a nested VM, never-used memory is slow to
 * fault in, and the first migration's destination QEMU lands on it).
 */
import { parseArgs } from 'node:util';
import { FerrydHost } from '../test/helpers/ferryd.js';
import { HeartbeatWatch } from '../test/helpers/heartbeat-watch.js';
import { lastSeq, waitHeartbeats } from '../test/helpers/heartbeat.js';
import { TwoHosts } from '../test/helpers/two-hosts.js';
import { prefaultMemory } from './prefault-memory.js';

const { values } = parseArgs({
  options: {
    vm: { type: 'string', default: '512' },
    touch: { type: 'string', default: '128' },
    dirty: { type: 'string', default: '0' },
    bandwidth: { type: 'string', default: '0' },
    runs: { type: 'string', default: '5' },
    channels: { type: 'string' },
    'single-channel': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    prefault: { type: 'string', default: '0' },
    hb: { type: 'string', default: '50' },
    'non-live': { type: 'boolean', default: false },
    'dirty-rate-window': { type: 'string' },
  },
});

interface Completed {
  qemuTotalTimeMs?: number;
  downtimeMs?: number;
  dataProcessed?: number;
  iteration?: number;
  timeElapsedMs: number;
}

async function main(): Promise<void> {
  const prefaultMs = prefaultMemory(Number(values.prefault));
  if (prefaultMs > 0) process.stderr.write(`prefaulted ${values.prefault} GiB in ${prefaultMs} ms\n`);
  const hosts = await new TwoHosts().start();
  try {
    const name = 'bench';
    await hosts.bootOnA({
      name,
      memoryMiB: Number(values.vm),
      touchMiB: Number(values.touch),
      dirtyMiBs: Number(values.dirty),
      hbMs: Number(values.hb),
    });
    // Let ferry-load finish touching its memory.
    await new Promise((r) => setTimeout(r, 2000 + Number(values.touch) * 10));
    const flags = values['non-live'] ? [] : ['--live'];
    if (Number(values.bandwidth) > 0) flags.push('--bandwidth', String(values.bandwidth));
    if (values.channels) flags.push('--parallel', '--parallel-connections', String(values.channels));
    const channels = values['single-channel'] ? 1 : Number(values.channels ?? 2);
    if (values['single-channel']) flags.push('--no-parallel');
    if (values['dirty-rate-window'] !== undefined) flags.push('--dirty-rate-window', values['dirty-rate-window']);
    let from: FerrydHost = hosts.a;
    let to: FerrydHost = hosts.b;
    for (let run = 1; run <= Number(values.runs); run++) {
      const dest = to === hosts.b ? hosts.bPeer : hosts.aPeer;
      // The pre-flight checks alone, as `ferry migrate` runs them first (API call, no CLI start-up).
      const p0 = performance.now();
      const check = await from.apiPost<{ failed: unknown[] }>(`/v1/domains/${name}/migrate-check`, {
        destUri: dest,
        options: { live: !values['non-live'], dirtyRateWindowMs: 0 },
      });
      const preflightMs = Math.round(performance.now() - p0);
      if (check.status !== 200 || check.body.failed.length > 0) throw new Error(`pre-flight failed: ${JSON.stringify(check.body)}`);
      const watch = new HeartbeatWatch(() => [`${hosts.a.stateDir}/log/${name}-serial0.log`, `${hosts.b.stateDir}/log/${name}-serial0.log`]).start();
      const since = Date.now();
      const t0 = performance.now();
      const r = await from.ferry('migrate', ...flags, name, dest);
      const ferryWallMs = Math.round(performance.now() - t0);
      if (r.code !== 0) throw new Error(`migration failed: ${r.stderr}`);
      await waitHeartbeats(() => to.serialLog(name), 3, { afterSeq: lastSeq(from.serialLog(name)) });
      watch.stop();
      const { job } = await to.api<{ job: Completed }>(`/v1/domains/${name}/job?completed=true`);
      const qemu = job.qemuTotalTimeMs ?? NaN;
      process.stdout.write(
        `${JSON.stringify({
          run,
          vmMiB: Number(values.vm),
          touchMiB: Number(values.touch),
          dirtyMiBs: Number(values.dirty),
          bandwidthMiBs: Number(values.bandwidth) || 'unlimited',
          channels,
          prefaultGiB: Number(values.prefault),
          ferryWallMs,
          daemonWallMs: job.timeElapsedMs,
          qemuTotalMs: qemu,
          preflightMs,
          overheadMs: ferryWallMs - qemu,
          daemonOverheadMs: job.timeElapsedMs - qemu,
          downtimeMs: job.downtimeMs,
          bytes: job.dataProcessed,
          passes: job.iteration,
          hbGapMs: watch.maxGapMs(since),
          live: !values['non-live'],
          dirtyRateWindowMs: values['dirty-rate-window'] === undefined ? 'default' : Number(values['dirty-rate-window']),
        })}\n`,
      );
      [from, to] = [to, from];
      await new Promise((r2) => setTimeout(r2, 300));
    }
  } finally {
    await hosts.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
