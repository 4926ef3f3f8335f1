import { parseArgs } from 'node:util';
import { type CampaignResult, report, runCampaign, SURFACES, type SurfaceName } from './campaign.js';
import { FuzzTarget } from './target.js';

/**
 * The fuzzer on demand: node dist/test/fuzz/run.js [--surface NAME|all] [--runs N] [--seed S] [--path P]
 * Starts a real ferryd, runs N generated inputs per surface, prints the counts; on a failure, the shrunk
 * input with its seed and path (--seed S --path P --runs 1 replays it). Exits 1 when an invariant broke.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { surface: { type: 'string', default: 'all' }, runs: { type: 'string', default: '10000' }, seed: { type: 'string' }, path: { type: 'string' } },
  });
  const names: SurfaceName[] = values.surface === 'all' ? [...SURFACES] : (values.surface.split(',') as SurfaceName[]);
  for (const n of names) if (!SURFACES.includes(n)) throw new Error(`unknown surface '${n}' (the surfaces: ${SURFACES.join(', ')})`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const runs = Number(values.runs);
  const target = new FuzzTarget();
  const results: CampaignResult[] = [];
  try {
    // Inside the try: a ferryd that does not come up in time (a loaded machine) is still stopped.
    await target.start();
    for (const name of names) {
      const r = await runCampaign(target, name, { runs, seed, ...(values.path ? { path: values.path } : {}) });
      results.push(r);
      console.log(report(r));
    }
  } finally {
    await target.stop();
  }
  return results.some((r) => r.failure) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
