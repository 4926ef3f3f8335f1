import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { report, runCampaign, SURFACES } from '../fuzz/campaign.js';
import { FuzzTarget } from '../fuzz/target.js';

/**
 * The short fuzzing pass of every change (issue 16): each surface with a fixed seed, then with a random one
 * printed with its counts (a failure prints its seed and path: `node dist/test/fuzz/run.js` replays it).
 * The volume run is test/fuzz/run.ts; docs/reliability.md has its counts.
 */
const FIXED_SEED = 20261201;
const RUNS: Record<(typeof SURFACES)[number], number> = {
  'domain-xml': 160,
  'network-xml': 80,
  'pool-xml': 80,
  api: 300,
  'ferryd-conf': 300,
  'cli-args': 120,
};

describe('fuzzing, short pass', () => {
  let target: FuzzTarget;
  const randomSeed = Number(process.env.FERRY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

  before(async () => {
    target = new FuzzTarget();
    await target.start();
  });
  after(async () => {
    await target.stop();
  });

  for (const surface of SURFACES) {
    it(`${surface}: bad input is refused with a code, changes nothing, and ferryd stays up and bounded`, async (t) => {
      for (const seed of [FIXED_SEED, randomSeed]) {
        const r = await runCampaign(target, surface, { runs: Math.ceil(RUNS[surface] / 2), seed });
        t.diagnostic(report(r));
        assert.equal(r.failure, undefined, report(r));
        assert.ok(r.runs > 0);
      }
    });
  }
});
