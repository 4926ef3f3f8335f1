import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertIntactAfterSwitch, guestCorrupted, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** A guest dirtying memory faster than the --bandwidth cap. */
describe('migration convergence', () => {
  const hosts = new TwoHosts();
  let uuid = '';
  before(async () => {
    await hosts.start();
    await hosts.bootOnA({ name: 'hot', memoryMiB: 256, touchMiB: 32, dirtyMiBs: 32, hbMs: 100 });
    uuid = (await hosts.a.ok('domuuid', 'hot')).trim();
  });
  after(async () => {
    await hosts.stop();
  });

  it('does not converge by default and is cleanly aborted at --timeout', async () => {
    const r = await hosts.a.ferry('migrate', '--live', '--bandwidth', '16', '--timeout', '4', 'hot', hosts.bPeer);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: operation aborted: migration did not complete within --timeout 4 s; the domain keeps running on the source\nhint: .*\[MIG_TIMEOUT\]/,
    );
    assert.equal(await hosts.a.state('hot'), 'running (migration canceled)');
    assert.equal((await hosts.b.ok('list', '--all', '--name')).trim(), '', 'no definition left on B');
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on B');
  });

  it('finishes with --auto-converge', async () => {
    const r = await hosts.a.ferry(
      'migrate',
      '--live',
      '--bandwidth',
      '16',
      '--auto-converge',
      '--auto-converge-initial',
      '70',
      '--auto-converge-increment',
      '20',
      '--timeout',
      '90',
      'hot',
      hosts.bPeer,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state('hot'), 'running (migrated)');
    await waitHeartbeats(() => hosts.b.serialLog('hot'), 3);
    assert.equal(guestCorrupted(hosts.serial('hot')), false);
  });

  it('finishes with --postcopy at --timeout (--timeout-postcopy)', async () => {
    const r = await hosts.b.ferry('migrate', '--live', '--bandwidth', '16', '--postcopy', '--timeout', '3', '--timeout-postcopy', 'hot', hosts.aPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.a.state('hot'), 'running (post-copy)');
    // The guest's oracle checks every word of every page it wrote, after post-copy pulled them all.
    await assertIntactAfterSwitch(
      () => hosts.b.serialLog('hot'),
      () => hosts.a.serialLog('hot'),
    );
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'the source QEMU is gone');
  });

  it('switches to post-copy by itself after the first pass with --postcopy-after-precopy', async () => {
    const r = await hosts.a.ferry('migrate', '--live', '--bandwidth', '16', '--postcopy', '--postcopy-after-precopy', 'hot', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state('hot'), 'running (post-copy)');
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog('hot'),
      () => hosts.b.serialLog('hot'),
    );
  });
});
