import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CuttingProxy } from '../helpers/cutting-proxy.js';
import { assertIntactAfterSwitch } from '../helpers/heartbeat.js';
import { untilPasses } from '../helpers/processes.js';
import { freePort, TwoHosts } from '../helpers/two-hosts.js';

/**
 * Post-copy done safely (docs/migration.md): the switch waits for a destination that answers, and a connection
 * cut during post-copy loses nothing: both QEMUs wait paused, the source reconnects by itself (A, the default
 * attempts) or when asked (B: migration_postcopy_recover_attempts = 0, then migrate --postcopy-resume). The cut
 * is a proxy in the data path (--migrateuri) that closes the migration's own connections and takes no new ones:
 * the resumed stream goes to the fresh port the destination listens on, past the proxy.
 */
describe('post-copy: refused switch, recovery after a cut link', () => {
  const hosts = new TwoHosts();
  const name = 'pc';
  before(async () => {
    await hosts.start({ extraConfigB: 'migration_postcopy_recover_attempts = 0' });
    await hosts.bootOnA({ name, memoryMiB: 256, touchMiB: 32, dirtyMiBs: 12, hbMs: 100 });
  });
  after(async () => {
    await hosts.stop();
  });

  /** Post-copy slow enough to be cut in the middle: QEMU's own knob, which ferry leaves alone. */
  const slowPostcopy = (h: typeof hosts.a): Promise<string> =>
    h.ok('qemu-monitor-command', name, JSON.stringify({ execute: 'migrate-set-parameters', arguments: { 'max-postcopy-bandwidth': 8 * 1024 * 1024 } }));

  /** A proxy on 127.0.0.2:PORT to the destination QEMU's 127.0.0.1:PORT, and the migrate arguments that send the stream through it. */
  const cutter = async (): Promise<{ proxy: CuttingProxy; args: string[] }> => {
    const port = await freePort('127.0.0.1');
    const proxy = new CuttingProxy({ host: '127.0.0.1', port }, Number.MAX_SAFE_INTEGER);
    await proxy.listen('127.0.0.2', port);
    return { proxy, args: ['--listen-address', '127.0.0.1', '--migrateuri', `tcp://127.0.0.2:${port}`] };
  };

  it('refuses the switch while the destination does not answer (the domain runs on), then switches; a cut in post-copy is recovered by itself', async () => {
    const { proxy, args } = await cutter();
    await slowPostcopy(hosts.a);
    const migrating = hosts.a.ferry('migrate', '--live', '--postcopy', '--bandwidth', '8', ...args, name, hosts.bPeer);
    try {
      await untilPasses('the stream flows', async () => assert.ok(proxy.forwarded > 1024 * 1024));
      process.kill(hosts.b.pid as number, 'SIGSTOP');
      let refused;
      try {
        refused = await hosts.a.ferry('migrate-postcopy', name);
      } finally {
        process.kill(hosts.b.pid as number, 'SIGCONT');
      }
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /switching to post-copy refused: the destination does not answer .*the domain keeps running on the source\nhint: .*\[MIG_POSTCOPY_UNSAFE\]/,
      );
      assert.match(await hosts.a.state(name), /^running/, 'still running on the source');
      assert.match(await hosts.a.ok('domjobinfo', name), /Job type: +Unbounded/, 'still migrating, in pre-copy');
      // Both QEMUs have postcopy-preempt: ferry turned it on, with the return path.
      const caps = JSON.parse(await hosts.a.ok('qemu-monitor-command', name, JSON.stringify({ execute: 'query-migrate-capabilities' }))) as {
        return: Array<{ capability: string; state: boolean }>;
      };
      const on = new Set(caps.return.filter((c) => c.state).map((c) => c.capability));
      assert.ok(on.has('postcopy-preempt') && on.has('return-path') && on.has('postcopy-ram'), [...on].join(' '));

      await hosts.a.ok('migrate-postcopy', name);
      await hosts.b.waitState(name, /^running \(post-copy\)/, 60_000);
      proxy.cutAll();
      const r = await migrating;
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await proxy.close();
    }
    const log = hosts.a.logTail(2000);
    assert.match(log, /post-copy: the migration connection broke/, 'the cut broke post-copy');
    assert.match(log, /post-copy: recovered/);
    assert.match(await hosts.b.state(name), /^running/);
    await assertIntactAfterSwitch(
      () => hosts.a.serialLog(name),
      () => hosts.b.serialLog(name),
    );
  });

  it('with automatic recovery off, both sides wait paused (domjobinfo, domstate) until migrate --postcopy-resume', async () => {
    const { proxy, args } = await cutter();
    await slowPostcopy(hosts.b);
    const migrating = hosts.b.ferry('migrate', '--live', '--postcopy', '--postcopy-after-precopy', '--bandwidth', '8', ...args, name, hosts.aPeer);
    try {
      await hosts.a.waitState(name, /^running \(post-copy\)/, 60_000);
      const early = await hosts.b.ferry('migrate', '--postcopy-resume', name, hosts.aPeer);
      assert.equal(early.code, 1);
      assert.match(early.stderr, /post-copy migration of domain pc has not failed/);
      proxy.cutAll();
      await untilPasses('B reports the broken post-copy', async () =>
        assert.match(await hosts.b.ok('domjobinfo', name), /Post-copy: +postcopy-paused: the connection broke \(automatic recovery off\); resume with/),
      );
      await hosts.a.waitState(name, 'paused (post-copy failed)');
      await hosts.b.waitState(name, 'paused (post-copy failed)');
      assert.match(await hosts.a.ok('list'), new RegExp(` ${name} +paused`));
      const resumed = await hosts.b.ferry('migrate', '--postcopy-resume', '--verbose', name, hosts.aPeer);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /Post-copy migration of 'pc' resumed/);
      const r = await migrating;
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await proxy.close();
    }
    assert.match(await hosts.a.state(name), /^running/);
    await assertIntactAfterSwitch(
      () => hosts.b.serialLog(name),
      () => hosts.a.serialLog(name),
    );
  });
});
