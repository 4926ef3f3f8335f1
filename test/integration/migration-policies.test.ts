import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CliStream } from '../helpers/cli-stream.js';
import { assertIntactAfterSwitch, guestCorrupted, lastSeq, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/**
 * docs/policies.md on real QEMU: a guest dirtying memory faster than the --bandwidth cap (it never converges
 * by pre-copy alone). minimal-downtime gives up with the domain running on the source and says why; auto
 * (where post-copy is allowed) and post-copy finish it by themselves, and the guest's own memory check passes.
 */
describe('migration policies', () => {
  const hosts = new TwoHosts();
  let uuid = '';
  before(async () => {
    await hosts.start();
    await hosts.bootOnA({ name: 'busy', memoryMiB: 256, touchMiB: 32, dirtyMiBs: 32, hbMs: 100 });
    uuid = (await hosts.a.ok('domuuid', 'busy')).trim();
  });
  after(async () => {
    await hosts.stop();
  });

  it('minimal-downtime with --max-downtime aborts at the stall: MIG_DOWNTIME_UNREACHABLE, the domain running on the source', async () => {
    const r = await hosts.a.ferry('migrate', '--live', '--bandwidth', '16', '--policy', 'minimal-downtime', '--max-downtime', '50', 'busy', hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: operation aborted: migration cannot switch over within --max-downtime 50 ms \(policy minimal-downtime: pass \d+ left [\d.]+ MiB, as much as pass \d+ .*\); the domain keeps running on the source\nhint: .*\[MIG_DOWNTIME_UNREACHABLE\]/,
    );
    assert.equal(await hosts.a.state('busy'), 'running (migration canceled)');
    assert.equal((await hosts.b.ok('list', '--all', '--name')).trim(), '', 'no definition left on B');
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on B');
    const job = await hosts.a.ok('domjobinfo', '--completed', 'busy');
    assert.match(job, /^Policy: +minimal-downtime$/m);
    assert.match(job, /^Policy step: +abort: pass \d+ left/m);
    assert.match(job, /^Max downtime: +50 +ms$/m);
    // The guest still runs on A: new heartbeats after the abort.
    await waitHeartbeats(() => hosts.a.serialLog('busy'), 2, { afterSeq: lastSeq(hosts.a.serialLog('busy')) });
    assert.equal(guestCorrupted(hosts.serial('busy')), false);
  });

  it('auto, with post-copy allowed (--postcopy), finishes it with post-copy, and says so in events and domjobinfo', async () => {
    const events = new CliStream(['event', '--domain', 'busy', '--all', '--loop'], { FERRY_DEFAULT_URI: hosts.a.uri });
    try {
      await eventually(async () => {
        if (/Resumed/.test(events.output())) return true;
        await hosts.a.ok('suspend', 'busy');
        await hosts.a.ok('resume', 'busy');
        return false;
      }, 'the event stream shows a suspend and resume');
      const r = await hosts.a.ferry('migrate', '--live', '--bandwidth', '16', '--policy', 'auto', '--postcopy', '--max-downtime', '300', 'busy', hosts.bPeer);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await hosts.b.state('busy'), 'running (post-copy)');
      // From the forecast (busy rewrites its memory faster than the 16 MiB/s link: post-copy as the transfer starts) or, had the
      // measurement read it low, after pass 1 or from a stall.
      await events.waitFor(
        /event 'migration-step' for domain 'busy': policy auto, pass \d+: post-copy: (pass \d+ left .*switching to post-copy|the forecast says pre-copy does not converge: post-copy as pass \d+ starts|the forecast says a first pass would stall \(the guest rewrites its memory as fast as the link carries it\): post-copy as the transfer starts)\n/,
        'the step',
      );
    } finally {
      await events.stop();
    }
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog('busy'),
      () => hosts.b.serialLog('busy'),
    );
    const job = await hosts.b.ok('domjobinfo', '--completed', 'busy');
    assert.match(job, /^Policy: +auto$/m);
    assert.match(job, /^Policy step: +post-copy: /m);
    await eventually(() => pidsMatching(`${hosts.a.stateDir}/run/${uuid}`).length === 0, 'the source QEMU is gone');
  });

  it('--policy post-copy finishes it too (back to A)', async () => {
    const r = await hosts.b.ferry('migrate', '--live', '--bandwidth', '16', '--policy', 'post-copy', 'busy', hosts.aPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.a.state('busy'), 'running (post-copy)');
    await assertIntactAfterSwitch(
      () => hosts.b.serialLog('busy'),
      () => hosts.a.serialLog('busy'),
    );
    assert.match(await hosts.a.ok('domjobinfo', '--completed', 'busy'), /^Policy step: +post-copy: /m);
  });

  it('auto by default, from the forecast: migrate-check says pre-copy will not converge and what auto will do; migrate with no policy flag starts with post-copy and finishes by it', async () => {
    interface Check {
      forecast?: {
        converges: boolean;
        inputs: { dirtyRateSource: string; dirtyBytesPerSec: number };
        policy?: { policy: string; summary: string; steps: unknown[] };
      };
    }
    const check = JSON.parse(await hosts.a.ok('migrate-check', 'busy', hosts.bPeer, '--bandwidth', '16', '--json')) as Check;
    assert.equal(check.forecast?.inputs.dirtyRateSource, 'measured');
    assert.equal(check.forecast?.converges, false, JSON.stringify(check.forecast?.inputs));
    assert.equal(check.forecast?.policy?.policy, 'auto');
    assert.match(check.forecast?.policy?.summary ?? '', /^post-copy, done in ~[\d.]+ s$/);
    assert.match(await hosts.a.ok('migrate-check', 'busy', hosts.bPeer, '--bandwidth', '16'), /^ +Policy: +auto: post-copy, done in/m);
    const r = await hosts.a.ferry('migrate', '--live', '--bandwidth', '16', 'busy', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state('busy'), 'running (post-copy)');
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog('busy'),
      () => hosts.b.serialLog('busy'),
    );
    const job = await hosts.b.ok('domjobinfo', '--completed', 'busy');
    assert.match(job, /^Policy: +auto$/m);
    assert.match(job, /^Policy step: +post-copy: /m);
  });
});
