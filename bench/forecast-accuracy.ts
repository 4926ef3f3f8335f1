/**
 * How good the migration forecast is (docs/forecast.md): two ferryd on this
 * machine, the test guest, live migrations back and forth over several
 * cases; for each, the forecast the source made before Perform (recorded in
 * migrate-history) beside what QEMU did. Prints one JSON line per migration,
 * then a summary per case:
 *
 *   predicted / actual   converges, passes, total time (s), downtime (ms)
 *   totalErrPct          (predicted - actual) / actual total time, converging cases
 *   callOk               the converge / no-converge call was right
 *   firstPass            the first pass's estimate (its source) against the normal bytes QEMU sent in all
 *                        (its error only for the idle case: a dirtying guest's normal bytes count every pass)
 *   dirtyMiBs            the rate QEMU measured, against the one the guest was asked for
 *   link                 the link's rate used, and where it came from
 *
 * Cases (a 1 GiB guest, a 512 MiB working set, as issue 15 sets them):
 *   idle                 nothing dirtied, uncapped
 *   dirty-32             32 MiB/s, uncapped
 *   dirty-100            100 MiB/s, uncapped
 *   dirty-150-cap-100    150 MiB/s over --bandwidth 100, --timeout 15 (aborted there: it never converges)
 *
 * Usage: node dist/bench/forecast-accuracy.js [--runs N] [--case NAME ...] [--vm MiB] [--touch MiB] [--window ms]
 */
import { parseArgs } from 'node:util';
import type { MigrationHistoryEntry } from '../src/shared/api-types.js';
import type { FerrydHost } from '../test/helpers/ferryd.js';
import { lastSeq, waitHeartbeats } from '../test/helpers/heartbeat.js';
import { TwoHosts } from '../test/helpers/two-hosts.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    case: { type: 'string', multiple: true },
    vm: { type: 'string', default: '1024' },
    touch: { type: 'string', default: '512' },
    window: { type: 'string' },
  },
});

interface Case {
  name: string;
  dirty: number;
  flags: string[];
}

const CASES: Case[] = [
  { name: 'idle', dirty: 0, flags: [] },
  { name: 'dirty-32', dirty: 32, flags: [] },
  { name: 'dirty-100', dirty: 100, flags: [] },
  { name: 'dirty-150-cap-100', dirty: 150, flags: ['--bandwidth', '100', '--timeout', '15'] },
];

const MiB = 1024 * 1024;

interface Row {
  case: string;
  run: number;
  predicted: { converges: boolean; passes: number; totalS: number; downtimeMs?: number };
  actual: { converged: boolean; passes?: number; totalS?: number; downtimeMs?: number };
  totalErrPct?: number;
  callOk: boolean;
  firstPass: { estimateMiB: number; source: string; normalSentMiB?: number; errPct?: number };
  dirtyMiBs: { asked: number; measured?: number; mode?: string; windowMs?: number };
  link: { MiBs: number; source: string };
  wallMs: number;
}

async function runCase(hosts: TwoHosts, c: Case): Promise<Row[]> {
  const name = `fc-${c.name}`;
  await hosts.bootOnA({ name, memoryMiB: Number(values.vm), touchMiB: Number(values.touch), dirtyMiBs: c.dirty, hbMs: 100 });
  // Let ferry-load finish touching its memory.
  await new Promise((r) => setTimeout(r, 2000 + Number(values.touch) * 10));
  let from: FerrydHost = hosts.a;
  let to: FerrydHost = hosts.b;
  const rows: Row[] = [];
  const window = values.window !== undefined ? ['--dirty-rate-window', values.window] : [];
  for (let run = 1; run <= Number(values.runs); run++) {
    const dest = to === hosts.b ? hosts.bPeer : hosts.aPeer;
    const t0 = performance.now();
    const r = await from.ferry('migrate', '--live', ...c.flags, ...window, name, dest);
    const wallMs = Math.round(performance.now() - t0);
    const [m] = JSON.parse(await from.ok('migrate-history', name, '--limit', '1', '--json')) as MigrationHistoryEntry[];
    if (!m?.forecast) throw new Error(`no forecast recorded: ${r.stderr}`);
    const p = m.forecast.predicted;
    const a = m.forecast.actual;
    const i = p.inputs;
    const actualTotal = a.totalSeconds ?? m.totalMs / 1000;
    const row: Row = {
      case: c.name,
      run,
      predicted: {
        converges: p.converges,
        passes: p.passes,
        totalS: round(p.totalSeconds),
        ...(p.downtimeMs !== undefined ? { downtimeMs: round(p.downtimeMs) } : {}),
      },
      actual: {
        converged: a.converged,
        ...(a.passes !== undefined ? { passes: a.passes } : {}),
        totalS: round(actualTotal),
        ...(a.downtimeMs !== undefined ? { downtimeMs: a.downtimeMs } : {}),
      },
      callOk: p.converges === a.converged,
      firstPass: {
        estimateMiB: round(i.firstPassBytes / MiB),
        source: i.firstPassSource,
        ...(a.normalBytes !== undefined && c.dirty === 0
          ? { normalSentMiB: round(a.normalBytes / MiB), errPct: round((100 * (i.firstPassBytes - a.normalBytes)) / a.normalBytes) }
          : {}),
      },
      dirtyMiBs: {
        asked: c.dirty,
        ...(i.dirtyRateSource === 'measured' ? { measured: round(i.dirtyBytesPerSec / MiB) } : {}),
        ...(i.dirtyRate ? { mode: i.dirtyRate.mode, windowMs: i.dirtyRate.windowMs } : {}),
      },
      link: { MiBs: round(i.linkBytesPerSec / MiB), source: i.linkSource },
      wallMs,
    };
    if (p.converges && a.converged) row.totalErrPct = round((100 * (p.totalSeconds - actualTotal)) / actualTotal);
    process.stdout.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
    if (a.converged) {
      await waitHeartbeats(() => to.serialLog(name), 2, { afterSeq: lastSeq(from.serialLog(name)) });
      [from, to] = [to, from];
    }
    await new Promise((r2) => setTimeout(r2, 300));
  }
  // The guest is on `from`: stop it there so the next case has the machine to itself.
  await from.ok('destroy', name);
  await from.ok('undefine', name).catch(() => '');
  return rows;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function summary(rows: Row[]): string {
  const errs = rows.map((r) => r.totalErrPct).filter((e): e is number => e !== undefined);
  const fp = rows.map((r) => r.firstPass.errPct).filter((e): e is number => e !== undefined);
  const measured = rows.map((r) => r.dirtyMiBs.measured).filter((e): e is number => e !== undefined);
  const mean = (xs: number[]): string => (xs.length ? String(round(xs.reduce((s, x) => s + x, 0) / xs.length)) : '-');
  const maxAbs = (xs: number[]): string => (xs.length ? String(round(Math.max(...xs.map(Math.abs)))) : '-');
  const c = rows[0]?.case ?? '?';
  return (
    `${c}: calls right ${rows.filter((r) => r.callOk).length}/${rows.length}; total-time error mean ${mean(errs)} %, max |${maxAbs(errs)}| %;` +
    ` first pass error mean ${mean(fp)} %; dirty rate measured mean ${mean(measured)} MiB/s (asked ${rows[0]?.dirtyMiBs.asked ?? '?'})\n`
  );
}

async function main(): Promise<void> {
  const wanted = values.case && values.case.length > 0 ? CASES.filter((c) => values.case?.includes(c.name)) : CASES;
  const hosts = await new TwoHosts().start();
  const summaries: string[] = [];
  try {
    for (const c of wanted) summaries.push(summary(await runCase(hosts, c)));
  } finally {
    await hosts.stop();
  }
  process.stdout.write(`\n${summaries.join('')}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
