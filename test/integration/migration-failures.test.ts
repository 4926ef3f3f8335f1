import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CuttingProxy } from '../helpers/cutting-proxy.js';
import { guestCorrupted, lastSeq, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { freePort, TwoHosts } from '../helpers/two-hosts.js';

/**
 * Failures during the transfer. In each, the VM keeps running on the source
 * (its heartbeat goes on there; how long it paused is measured by
 * bench/migration-failures.ts, not asserted), and the destination is left
 * clean: no QEMU, no definition.
 */
describe('migration failures', () => {
  const hosts = new TwoHosts();
  let uuid = '';
  const name = 'victim';

  before(async () => {
    await hosts.start();
    await hosts.bootOnA({ name, memoryMiB: 256, touchMiB: 96, dirtyMiBs: 4, hbMs: 50 });
    uuid = (await hosts.a.ok('domuuid', name)).trim();
  });
  after(async () => {
    await hosts.stop();
  });
  beforeEach(async () => {
    // Each case starts with the VM running on A.
    if ((await hosts.a.state(name)) !== 'running (migration canceled)' && !(await hosts.a.state(name)).startsWith('running')) {
      throw new Error(`VM not running on A: ${await hosts.a.state(name)}`);
    }
  });

  async function assertCleanOnB(): Promise<void> {
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 0, 'no QEMU left on B');
    await eventually(async () => (await hosts.b.ok('list', '--all', '--name')).trim() === '', 'no definition left on B');
  }

  /** The VM runs on A: its state, and heartbeats newer than any it printed before the migration failed. */
  async function assertRunsOnA(afterSeq: number): Promise<void> {
    assert.match(await hosts.a.state(name), /^running/);
    await waitHeartbeats(() => hosts.a.serialLog(name), 3, { afterSeq });
    assert.equal(guestCorrupted(hosts.serial(name)), false);
  }

  /** Waits until the migration of the VM moves memory (domjobinfo on A). */
  async function transferring(): Promise<void> {
    await eventually(async () => /Data processed: +[1-9]/.test(await hosts.a.ok('domjobinfo', name)), 'the migration is transferring memory');
  }

  it('the destination QEMU killed during the transfer', async () => {
    const seq = lastSeq(hosts.a.serialLog(name));
    const migrating = hosts.a.ferry('migrate', '--live', '--bandwidth', '16', name, hosts.bPeer);
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 1, 'the incoming QEMU runs on B');
    await transferring();
    for (const pid of pidsMatching(`${hosts.b.stateDir}/run/${uuid}`)) process.kill(pid, 'SIGKILL');
    const r = await migrating;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: operation failed: migration failed: /);
    await assertRunsOnA(seq);
    await assertCleanOnB();
  });

  it('the connection to the destination cut during the transfer (a proxy in the path closes)', async () => {
    const port = await freePort('127.0.0.1');
    const proxy = new CuttingProxy({ host: '127.0.0.1', port }, 20 * 1024 * 1024);
    await proxy.listen('127.0.0.2', port);
    const seq = lastSeq(hosts.a.serialLog(name));
    const r = await hosts.a.ferry(
      'migrate',
      '--live',
      '--bandwidth',
      '16',
      '--listen-address',
      '127.0.0.1',
      '--migrateuri',
      `tcp://127.0.0.2:${port}`,
      name,
      hosts.bPeer,
    );
    await proxy.close();
    assert.ok(proxy.cut, 'the proxy cut the stream');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: operation failed: migration failed: /);
    await assertRunsOnA(seq);
    await assertCleanOnB();
  });

  it('the destination ferryd killed during the transfer; it cleans up when it comes back', async () => {
    const seq = lastSeq(hosts.a.serialLog(name));
    const migrating = hosts.a.ferry('migrate', '--live', '--bandwidth', '32', name, hosts.bPeer);
    await eventually(() => pidsMatching(`${hosts.b.stateDir}/run/${uuid}`).length === 1, 'the incoming QEMU runs on B');
    await transferring();
    await hosts.b.kill('SIGKILL');
    const r = await migrating;
    assert.equal(r.code, 1, `migrate should fail: ${r.stdout}`);
    assert.match(r.stderr, /cannot talk to the destination ferryd/);
    await assertRunsOnA(seq);
    await hosts.b.start();
    await assertCleanOnB();
  });

  // The source ferryd killed in each phase, one branch at a time: test/integration/recovery-branches.test.ts.
});
