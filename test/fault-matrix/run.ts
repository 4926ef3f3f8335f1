/**
 * The fault matrix (issue 16, docs/reliability.md): every process and network fault (faults.ts) at every moment of a live
 * migration (moments.ts), `--trials` times per cell, on two real ferryd hosts and a guest that checks its own
 * memory and disk. One JSON line per trial, then a table of the cells (markdown, for docs/reliability.md).
 *
 *   npx tsc -p tsconfig.json
 *   flock /tmp/ferry-e2e.lock node dist/test/fault-matrix/run.js [--trials N] [--fault NAME ...] [--moment NAME ...] [--hold-ms MS] [--keep]
 *
 * Exit status 1 when any trial failed.
 */
import { parseArgs } from 'node:util';
import { FAULTS } from './faults.js';
import { MOMENTS } from './moments.js';
import { FaultRig } from './rig.js';
import { matrixTable } from './table.js';
import { runTrial, type TrialResult } from './trial.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '1' },
    fault: { type: 'string', multiple: true },
    moment: { type: 'string', multiple: true },
    'hold-ms': { type: 'string', default: '20000' },
    /** A missed moment is tried again, up to this many times per trial. */
    retries: { type: 'string', default: '3' },
    /** Keep the hosts' directory (logs, stores, serial output) even when every trial passed. */
    keep: { type: 'boolean', default: false },
  },
});
const pick = <T extends { name: string }>(all: T[], names: string[] | undefined, what: string): T[] => {
  const unknown = (names ?? []).filter((n) => !all.some((x) => x.name === n));
  if (unknown.length) throw new Error(`unknown ${what}: ${unknown.join(', ')} (known: ${all.map((x) => x.name).join(', ')})`);
  return names?.length ? all.filter((x) => names.includes(x.name)) : all;
};
const faults = pick(FAULTS, values.fault, 'fault');
const moments = pick(MOMENTS, values.moment, 'moment');
const trials = Number(values.trials);
const holdMs = Number(values['hold-ms']);

const rig = new FaultRig();
const results: TrialResult[] = [];
const startedAt = new Date();
try {
  await rig.start();
  for (const moment of moments) {
    for (const fault of faults) {
      for (let t = 1; t <= trials; t++) {
        let r: TrialResult;
        let attempt = 0;
        do r = await runTrial(rig, fault, moment, { holdMs });
        while (r.result === 'missed' && ++attempt < Number(values.retries));
        results.push(r);
        console.log(JSON.stringify({ trial: t, ...r }));
        if (r.result === 'n/a') break;
      }
    }
  }
} finally {
  const kept = await rig.stop({ keep: values.keep || results.some((r) => r.result === 'FAIL') });
  if (kept) console.log(`\nthe hosts' logs, stores and serial output of the run: ${kept}`);
}
console.log(`\nfault matrix, ${startedAt.toISOString()}, ${trials} trial(s) per cell, SIGSTOP held ${holdMs} ms\n`);
console.log(matrixTable(results, faults, moments));
process.exitCode = results.some((r) => r.result === 'FAIL') ? 1 : 0;
