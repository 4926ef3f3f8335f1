import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, killMatching, pidsMatching } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Invariant 9 (one ferryd per state directory, one QEMU per VM) against the
 * two ways a VM was found running twice: a stray second ferryd on the same
 * state directory, and a ferryd that took a QEMU it could not reach for gone.
 */
describe('a VM never runs twice', () => {
  const dir = tempDir('ferry-twice-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const stray = new FerrydHost({ dir: `${dir.path}/stray`, stateDir: host.stateDir }); // the same state directory, its own socket
  let uuid = '';
  const qemus = (): number[] => pidsMatching(`${host.stateDir}/run/${uuid}`);

  before(async () => {
    await host.start();
    uuid = crypto.randomUUID();
    const file = `${dir.path}/vm.xml`;
    writeFileSync(file, guestXml({ name: 'once', uuid, hbMs: 100 }));
    await host.ok('define', file);
    await host.ok('start', 'once');
    await waitHeartbeats(() => host.serialLog('once'), 2);
  });
  after(async () => {
    await host.ferry('destroy', 'once');
    await stray.kill('SIGKILL');
    await host.stopAll();
    killMatching(dir.path);
    dir.cleanup();
  });

  it("a second ferryd on the same state directory refuses to start, naming the first one's pid; the VM runs once", async () => {
    await assert.rejects(stray.start(), (e: Error) => {
      assert.match(e.message, /ferryd exited with 1 during start/);
      assert.match(e.message, new RegExp(`ferryd: error: another ferryd \\(pid ${host.pid}\\) is using the state directory '${host.stateDir}'`));
      assert.match(e.message, /hint: Stop the other ferryd first/);
      return true;
    });
    assert.equal(await host.state('once'), 'running (booted)', 'the first ferryd still sees the VM running');
    const r = await host.ferry('start', 'once');
    assert.match(r.stderr, /domain is already running/);
    assert.equal(qemus().length, 1, 'exactly one QEMU runs the VM');
  });

  it("after the first ferryd is killed, the lock is the kernel's to drop: a new ferryd starts and finds the VM", async () => {
    const before = qemus();
    await host.kill('SIGKILL');
    await host.start();
    assert.equal(await host.state('once'), 'running (booted)');
    assert.deepEqual(qemus(), before, 'the same QEMU, no second one');
  });

  it('a QEMU whose monitor does not answer at reattach is unreachable, not gone: it stays running, is never started twice, and is followed again once it answers', async () => {
    const [pid] = qemus();
    assert.ok(pid);
    await host.kill('SIGTERM');
    process.kill(pid, 'SIGSTOP'); // alive, but its monitor is silent
    try {
      await host.start();
      await eventually(() => /cannot reach this running domain's QEMU yet/.test(host.logTail(200)), 'ferryd reports the domain unreachable', 60_000);
      assert.match(await host.ok('list', '--all'), / once +running/, 'still running in the store');
      const start = await host.ferry('start', 'once');
      assert.match(start.stderr, /domain is already running/);
      const suspend = await host.ferry('suspend', 'once');
      assert.equal(suspend.code, 1);
      assert.match(suspend.stderr, new RegExp(`cannot reach the monitor of domain 'once': its QEMU \\(pid ${pid}\\) still runs`));
      assert.match(suspend.stderr, /\[QEMU_UNREACHABLE\]/);
      assert.deepEqual(qemus(), [pid]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(async () => (await host.ferry('suspend', 'once')).code === 0, 'the domain answers again once QEMU does', 60_000);
    assert.equal(await host.state('once'), 'paused (user)');
    await host.ok('resume', 'once');
    const seq = (await waitHeartbeats(() => host.serialLog('once'), 1)).at(-1)?.seq ?? 0;
    await waitHeartbeats(() => host.serialLog('once'), 2, { afterSeq: seq });
    assert.deepEqual(qemus(), [pid], 'the very same QEMU');
  });
});
