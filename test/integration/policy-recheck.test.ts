import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MigrationHistoryEntry } from '../../src/shared/api-types.js';
import { assertIntactAfterSwitch } from '../helpers/heartbeat.js';
import { AGENT_CHANNEL, guestSh } from '../helpers/guest-exec.js';
import { eventually, untilPasses } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const MiB = 1024 * 1024;
/** The --bandwidth cap, in MiB/s. */
const CAP_MIBS = 64;
/** What the guest dirties while ferry measures it: within the policy's margin (converges, but not at twice the rate). */
const LOW_MIBS = 40;
/** What it dirties once the first pass runs: far more than the link carries (its whole working set each pass). */
const HIGH_MIBS = 150;

/**
 * auto's recheck at pass 2 (docs/policies.md) on real QEMU: the forecast reads a guest that dirties 40 MiB/s,
 * which converges over a 64 MiB/s link, but only within the measurement's margin, so post-copy stays possible
 * and the plan rechecks as pass 2 starts. Then the guest goes to 150 MiB/s (a batch job starting: the test
 * writes the rate through the guest agent as the first pass runs). QEMU's own dirty rate over the first pass
 * says pre-copy would not finish in time, so the policy switches to post-copy at pass 2, without waiting for
 * a stall, and the guest's memory check passes on the destination.
 */
describe('auto policy: the recheck at pass 2 with QEMU’s own dirty rate', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
    // 384 MiB touched of 512 (GUEST_BASE_MIB beside it): the first pass is ~7 s at 64 MiB/s.
    await hosts.bootOnA({ name: 'recheck', memoryMiB: 512, touchMiB: 384, dirtyMiBs: LOW_MIBS, hbMs: 100, devices: AGENT_CHANNEL });
    await untilPasses('the guest agent answers', () => hosts.a.ok('qemu-agent-command', 'recheck', '{"execute":"guest-ping"}'), 90_000);
  });
  after(async () => {
    await hosts.stop();
  });

  it('a reading within the margin plans the recheck; the faster guest found over pass 1 goes to post-copy as pass 2 starts', async (t) => {
    // A 1 s window (twice: the reading is at least 45 % of the link, so a second window confirms it) reads 40 MiB/s steadily.
    const migrating = hosts.a.ferry('migrate', '--live', '--bandwidth', String(CAP_MIBS), '--dirty-rate-window', '1000', 'recheck', hosts.bPeer);
    // Pass 1 runs once QEMU has sent something: the plan is fixed by then (auto waits for the reading before Prepare).
    await eventually(
      async () => {
        const job = (await hosts.a.ferry('domjobinfo', 'recheck')).stdout;
        return /^Memory processed: +[1-9]/m.test(job) && /^Iteration: +1$/m.test(job);
      },
      'the first pass under way',
      60_000,
    );
    await guestSh(hosts.a, 'recheck', `echo ${HIGH_MIBS} > /run/ferry-dirty`);
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    assert.match(hosts.a.serialLog('recheck'), new RegExp(`ferry-load: dirty=${HIGH_MIBS}MiB/s from /run/ferry-dirty`), 'the guest changed its rate on A');

    const [m] = JSON.parse(await hosts.a.ok('migrate-history', 'recheck', '--json')) as MigrationHistoryEntry[];
    const f = m?.forecast?.predicted;
    assert.ok(f, JSON.stringify(m));
    const read = f.inputs.dirtyBytesPerSec / MiB;
    assert.equal(f.inputs.dirtyRateSource, 'measured');
    assert.ok(read > LOW_MIBS * 0.5 && read < LOW_MIBS * 1.5, `the forecast read ${read} MiB/s for a guest dirtying ${LOW_MIBS}`);
    assert.equal(f.converges, true, 'pre-copy converges at the rate read');

    const job = await hosts.b.ok('domjobinfo', '--completed', 'recheck');
    t.diagnostic(`read ${read.toFixed(1)} MiB/s; ${/^Policy step:.*$/m.exec(job)?.[0] ?? ''}; ${/^QEMU total time:.*$/m.exec(job)?.[0] ?? ''}`);
    assert.match(job, /^Policy: +auto$/m);
    assert.match(
      job,
      /^Policy step: +post-copy: QEMU's own dirty rate over pass 1 \([\d.]+ MiB\/s, against [\d.]+ MiB\/s moved\) says pre-copy (does not converge|needs \d+ more passes .*) \(the forecast read [\d.]+ MiB\/s\): post-copy as pass 2 starts$/m,
      job,
    );
    assert.equal(await hosts.b.state('recheck'), 'running (post-copy)');
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog('recheck'),
      () => hosts.b.serialLog('recheck'),
    );
  });
});
