import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { QmpClient } from '../../src/qmp/client.js';
import { connectQmpSocket } from '../../src/qmp/transport.js';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { guestCorrupted, parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { ReplyLosingProxy } from '../helpers/reply-losing-proxy.js';
import { StoreWatch, type StoredMigration } from '../helpers/store-watch.js';
import { freePort, TwoHosts } from '../helpers/two-hosts.js';

/** How long B keeps an incoming VM whose source stays silent (test_migration_orphan_timeout_ms; 10 minutes by default). */
const ORPHAN_MS = 6000;

/**
 * docs/migration.md's recovery list, one branch per test. Each test stops a
 * ferryd at the phase its store records (SIGSTOP the moment the phase is
 * written, then SIGKILL), restarts it, and checks the outcome the document
 * promises: the VM runs on exactly one host (the kernel's process list),
 * in the documented state, with exactly one persistent definition, and the
 * guest keeps beating with its memory intact.
 */
describe('migration recovery, branch by branch', () => {
  const hosts = new TwoHosts();
  const name = 'rcv';
  let uuid = '';
  let storeA: StoreWatch;
  let storeB: StoreWatch;

  before(async () => {
    await hosts.start({ extraConfigB: `test_migration_orphan_timeout_ms = ${ORPHAN_MS}` });
    // A disk on storage both hosts see, so every branch also moves (or keeps) a disk lease.
    mkdirSync(`${hosts.dir.path}/shared`, { recursive: true });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${hosts.dir.path}/shared/rcv.qcow2`, '32M']);
    // on_lockfailure poweroff: a lease check that wrongly took a migrating VM for one that lost its lease would kill it.
    const xml = guestXml({
      name, memoryMiB: 256, touchMiB: 96, dirtyMiBs: 4, hbMs: 100,
      disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${hosts.dir.path}/shared/rcv.qcow2'/><target dev='vda' bus='virtio'/></disk>`,
    }).replace('</on_crash>', '</on_crash>\n  <on_lockfailure>poweroff</on_lockfailure>');
    writeFileSync(`${hosts.dir.path}/rcv.xml`, xml);
    await hosts.a.ok('define', `${hosts.dir.path}/rcv.xml`);
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 40_000 });
    uuid = (await hosts.a.ok('domuuid', name)).trim();
    storeA = new StoreWatch(hosts.a.stateDir);
    storeB = new StoreWatch(hosts.b.stateDir);
  });
  after(async () => {
    storeA?.close();
    storeB?.close();
    await hosts.stop().catch(() => undefined);
    killLeftovers(hosts.dir.path);
  });

  const qemus = (h: FerrydHost): number[] => pidsMatching(`${h.stateDir}/run/${uuid}`);
  const src = (w: StoreWatch): StoredMigration | undefined => w.latest(uuid, 'source');
  const dst = (w: StoreWatch): StoredMigration | undefined => w.latest(uuid, 'destination');
  const newest = (m: StoredMigration | undefined, since: number): StoredMigration | undefined => (m && m.startedAt >= since ? m : undefined);

  /** Freezes ferryd where it is (it cannot take another step), then kills it: a crash at exactly that point. */
  async function crash(h: FerrydHost): Promise<void> {
    process.kill(h.pid as number, 'SIGSTOP');
    await h.kill('SIGKILL');
  }

  /** Whether a host keeps a persistent definition of the domain. */
  async function persistentOn(h: FerrydHost): Promise<boolean> {
    return (await h.ok('list', '--all', '--persistent', '--name')).split('\n').includes(name);
  }

  /**
   * The end state every branch must reach: one QEMU (on `host`), none on the
   * other, the state `expected` there, one persistent definition (there), no
   * definition at all left on the other host, and a guest that still beats.
   */
  async function assertOnlyOn(host: FerrydHost, expected: RegExp): Promise<void> {
    const other = host === hosts.a ? hosts.b : hosts.a;
    await eventually(() => qemus(host).length === 1 && qemus(other).length === 0, `exactly one QEMU, on ${host === hosts.a ? 'A' : 'B'}`, 60_000);
    await eventually(async () => (await other.ok('list', '--all', '--name')).split('\n').every((n) => n !== name), 'no definition left on the other host', 30_000);
    assert.match(await host.state(name), expected);
    assert.equal(await persistentOn(host), true, 'the persistent definition is where the VM runs');
    assert.equal(await persistentOn(other), false);
    const lastSeq = Math.max(-1, ...parseHeartbeats(hosts.serial(name)).map((b) => b.seq));
    await waitHeartbeats(() => host.serialLog(name), 3, { afterSeq: lastSeq });
    assert.equal(guestCorrupted(hosts.serial(name)), false, 'the guest found no corrupted page');
    assert.equal(qemus(host).length + qemus(other).length, 1);
  }

  /** The first JSON line of a ferryd's log with this message, written after byte `from` (waits for it). */
  async function waitLogLine(h: FerrydHost, from: number, msg: string): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await eventually(() => {
      const line = readFileSync(h.logFile).subarray(from).toString('utf8').split('\n').find((l) => l.includes(msg));
      found = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      return found !== undefined;
    }, `${msg} (in the log)`, 30_000);
    return found as Record<string, unknown>;
  }

  /** Starts a migration A→B with these flags; once A records Perform and memory moves, gives its CLI run (still going) as `done`. */
  async function migratingToB(...flags: string[]): Promise<{ done: Promise<{ code: number; stdout: string; stderr: string }> }> {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', ...flags, name, hosts.bPeer);
    await storeA.waitFor((w) => newest(src(w), t0)?.phase === 'Perform', 'A records Perform');
    await eventually(async () => /Data processed: +[1-9]/.test((await hosts.a.ferry('domjobinfo', name)).stdout), 'memory is on its way');
    return { done: migrating };
  }

  /** Brings the VM back to A for the next branch. */
  async function backToA(): Promise<void> {
    await hosts.b.ok('migrate', '--live', '--persistent', '--undefinesource', name, hosts.aPeer);
    await assertOnlyOn(hosts.a, /^running/);
  }

  it('source in Prepare (the destination has its incoming QEMU): rolled back, the destination told to abort', async () => {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    // B recording Prepare means A sent Prepare and waits for the answer: stop A there.
    await storeB.waitFor((w) => newest(dst(w), t0), 'B records the incoming migration');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(storeA)?.phase, 'Prepare', 'A is stopped in Prepare');
    // B finishes preparing (its answer waits, unread, in A's socket), then A dies.
    await storeB.waitFor((w) => dst(w)?.data.port !== undefined, 'B listens for the stream');
    assert.equal(qemus(hosts.b).length, 1, 'the incoming QEMU runs on B');
    await hosts.a.kill('SIGKILL');
    assert.equal((await migrating).code, 1, 'the CLI lost its daemon');
    await hosts.a.start();
    await assertOnlyOn(hosts.a, /^running/);
    const id = src(storeA)?.id as string;
    assert.deepEqual(storeA.phaseLog(id, 'source').map((p) => p.phase), ['Begin', 'Prepare', 'Failed']);
    assert.deepEqual(storeB.phaseLog(id, 'destination').map((p) => p.phase), ['Prepare', 'Cancelled']);
    assert.equal(src(storeA)?.cleanupDone, true);
  });

  it('source in Perform while QEMU still sends: cancelled and rolled back', async () => {
    const migrating = (await migratingToB('--live', '--persistent', '--undefinesource', '--bandwidth', '8')).done;
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(storeA)?.phase, 'Perform');
    await hosts.a.kill('SIGKILL');
    await migrating;
    await hosts.a.start();
    await assertOnlyOn(hosts.a, /^running/);
    const id = src(storeA)?.id as string;
    assert.deepEqual(storeA.phaseLog(id, 'source').map((p) => p.phase), ['Begin', 'Prepare', 'Perform', 'Failed']);
    assert.match(src(storeA)?.error ?? '', /ferryd restarted during Perform \(QEMU migration (active|pre-switchover|device)\)/);
    assert.deepEqual(storeB.phaseLog(id, 'destination').map((p) => p.phase), ['Prepare', 'Cancelled']);
  });

  it('source in Perform after QEMU completed the switch: the destination takes over (Finish), the source QEMU is stopped', async () => {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    // The leases are written to the store at the pre-switchover pause, just before QEMU is told to switch over.
    await storeA.waitFor((w) => newest(src(w), t0)?.data.lockState !== undefined, 'A gave up the leases at the switch');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(storeA)?.phase, 'Perform');
    await hosts.a.kill('SIGKILL');
    await migrating;
    // ferryd died after (or right before) telling QEMU to switch over: the source QEMU completes on its own.
    const qmp = new QmpClient();
    await qmp.connect(await connectQmpSocket(`${hosts.a.stateDir}/run/${uuid}/qmp.sock`));
    try {
      const query = async (): Promise<string> => (await qmp.execute<{ status?: string }>('query-migrate')).status ?? 'none';
      if ((await query()) === 'pre-switchover') await qmp.execute('migrate-continue', { state: 'pre-switchover' });
      await eventually(async () => (await query()) === 'completed', 'the source QEMU completed the migration');
      assert.equal((await qmp.execute<{ running: boolean }>('query-status')).running, false, 'the source stays paused');
    } finally {
      qmp.disconnect();
    }
    await hosts.a.start();
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    const id = src(storeA)?.id as string;
    assert.deepEqual(storeA.phaseLog(id, 'source').map((p) => p.phase), ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded']);
    assert.deepEqual(storeB.phaseLog(id, 'destination').map((p) => p.phase), ['Prepare', 'Finish', 'Succeeded']);
    assert.match(await hosts.b.ok('lock-list'), / exclusive +rcv +vda /, 'B holds the disk lease');
    assert.doesNotMatch(await hosts.a.ok('lock-list'), /rcv/);
    await backToA();
  });

  it('Finish with the reply lost: MIG_OUTCOME_UNKNOWN, the source stays paused until the destination answers, then Confirm', async () => {
    const bPort = Number(/:(\d+)\//.exec(hosts.bPeer)?.[1]);
    const port = await freePort();
    const proxy = new ReplyLosingProxy({ host: '127.0.0.1', port: bPort }, /POST \/peer\/v1\/migrations\/[^/ ]+\/finish /);
    await proxy.listen('127.0.0.1', port);
    try {
      const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, `ferry+tcp://127.0.0.1:${port}/system`);
      assert.ok(proxy.lost, 'the proxy dropped the answer to Finish');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /error: operation failed: the destination did not say whether it resumed the domain; it stays paused here until it does/);
      assert.match(r.stderr, /\[MIG_OUTCOME_UNKNOWN\]/);
      // B resumed the VM; A does not know, so its vCPUs stay stopped: they run on one host only.
      assert.equal(dst(storeB)?.phase, 'Succeeded');
      assert.match(await hosts.a.state(name), /^paused/);
      assert.equal(src(storeA)?.phase, 'Finish');
      assert.equal(qemus(hosts.a).length, 1, 'the source QEMU is kept (paused) while the outcome is unknown');
    } finally {
      proxy.heal();
    }
    // Recovery keeps asking (every 2 s); now it learns B resumed the VM.
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    const id = src(storeA)?.id as string;
    assert.deepEqual(storeA.phaseLog(id, 'source').map((p) => p.phase), ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded']);
    await proxy.close();
    await backToA();
  });

  it('source in Confirm: the migration completes, the source QEMU is gone and never resumes', async () => {
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    await storeA.waitFor((w) => newest(src(w), t0)?.phase === 'Confirm', 'A records Confirm');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    assert.equal(src(storeA)?.phase, 'Confirm');
    await hosts.a.kill('SIGKILL');
    await migrating;
    await hosts.a.start();
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    const rec = src(storeA) as StoredMigration;
    assert.deepEqual(storeA.phaseLog(rec.id, 'source').map((p) => p.phase), ['Begin', 'Prepare', 'Perform', 'Finish', 'Confirm', 'Succeeded']);
    assert.equal(rec.cleanupDone, true);
    await backToA();
  });

  it('destination restarted while the source still sends: the incoming VM is kept and the migration completes', async () => {
    const migrating = (await migratingToB('--live', '--persistent', '--undefinesource', '--bandwidth', '8')).done;
    // A is held still (its QEMU keeps sending, and stops at the switch-over) while B's ferryd crashes and comes back.
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    try {
      assert.equal(src(storeA)?.phase, 'Perform');
      assert.equal(dst(storeB)?.phase, 'Prepare');
      const incoming = qemus(hosts.b);
      assert.equal(incoming.length, 1);
      const from = statSync(hosts.b.logFile).size;
      await crash(hosts.b);
      await hosts.b.start();
      // B's recovery found the incoming migration, then its lease check ran over the running domains.
      await waitLogLine(hosts.b, from, '"msg":"lease check done"');
      assert.deepEqual(qemus(hosts.b), incoming, 'the incoming QEMU is kept');
      assert.doesNotMatch(hosts.b.logTail(100), /applying on_lockfailure/, 'a migrating VM has not lost a lease: A still holds it until the switch');
    } finally {
      process.kill(hosts.a.pid as number, 'SIGCONT');
    }
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    await assertOnlyOn(hosts.b, /^running \(migrated\)$/);
    await backToA();
  });

  it('destination restarted in post-copy while the source is frozen: its QEMU, waiting for pages, is unreachable and kept (never taken for gone, never started twice); the migration completes once the source runs again', async () => {
    // Post-copy slow enough to be caught in the middle: QEMU's own knob, which ferry leaves alone.
    await hosts.a.ok('qemu-monitor-command', name, JSON.stringify({ execute: 'migrate-set-parameters', arguments: { 'max-postcopy-bandwidth': 2 * 1024 * 1024 } }));
    const migrating = (await migratingToB('--live', '--postcopy', '--persistent', '--undefinesource', '--bandwidth', '4')).done;
    await hosts.a.ok('migrate-postcopy', name);
    await hosts.b.waitState(name, /^running/, 60_000); // the vCPUs run on B now; pages still come from A
    // The source host freezes with the rest of the memory: its QEMU and its ferryd stop.
    const [sourceQemu] = qemus(hosts.a) as [number];
    process.kill(sourceQemu, 'SIGSTOP');
    process.kill(hosts.a.pid as number, 'SIGSTOP');
    try {
      const incoming = qemus(hosts.b);
      assert.equal(incoming.length, 1);
      const from = statSync(hosts.b.logFile).size;
      await crash(hosts.b);
      await hosts.b.start();
      await waitLogLine(hosts.b, from, 'cannot reach this running domain\'s QEMU yet');
      assert.deepEqual(qemus(hosts.b), incoming, 'the incoming QEMU is kept');
      assert.match(await hosts.b.ok('list', '--all'), new RegExp(` ${name} +running`), 'and still running, for ferry too');
      assert.match((await hosts.b.ferry('start', name)).stderr, /domain is already running/);
      assert.deepEqual(qemus(hosts.b), incoming);
    } finally {
      process.kill(sourceQemu, 'SIGCONT');
      process.kill(hosts.a.pid as number, 'SIGCONT');
    }
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    await assertOnlyOn(hosts.b, /^running/);
    await backToA();
  });

  it("post-copy Finish whose reply is lost (the destination's ferryd dies with the request): the source asks again, the restarted destination resumes the VM, the migration completes", async () => {
    await hosts.a.ok('qemu-monitor-command', name, JSON.stringify({ execute: 'migrate-set-parameters', arguments: { 'max-postcopy-bandwidth': 2 * 1024 * 1024 } }));
    const migrating = (await migratingToB('--live', '--postcopy', '--persistent', '--undefinesource', '--bandwidth', '4')).done;
    // B's ferryd is held still, so A's Finish (sent once post-copy starts) can only wait for an answer ...
    process.kill(hosts.b.pid as number, 'SIGSTOP');
    const t0 = Date.now();
    await hosts.a.ok('migrate-postcopy', name);
    await storeA.waitFor((w) => (newest(src(w), t0 - 60_000)?.phase ?? '') === 'Finish', 'A records Finish');
    // ... and B's ferryd dies with it unanswered; it comes back with the incoming QEMU in post-copy.
    await hosts.b.kill('SIGKILL');
    await hosts.b.start();
    const r = await migrating;
    assert.equal(r.code, 0, r.stderr);
    assert.match(hosts.a.logTail(200), /post-copy: the destination finished on a repeated Finish/);
    await assertOnlyOn(hosts.b, /^running/);
    await backToA();
  });

  it('destination in Prepare whose source stays silent: kept, then discarded after the orphan timeout', async () => {
    const migrating = (await migratingToB('--live', '--persistent', '--undefinesource', '--bandwidth', '8')).done;
    // The source host goes silent for good (its ferryd dies and stays down) ...
    await crash(hosts.a);
    await migrating;
    // ... and the destination's ferryd restarts while its incoming QEMU waits in Prepare.
    const incoming = qemus(hosts.b);
    assert.equal(incoming.length, 1);
    assert.equal(dst(storeB)?.phase, 'Prepare');
    const from = statSync(hosts.b.logFile).size;
    const crashedAt = Date.now();
    await crash(hosts.b);
    await hosts.b.start();
    // B asks the silent source, keeps the incoming VM, and says until when.
    const kept = await waitLogLine(hosts.b, from, 'the source does not answer; the incoming domain is kept until');
    assert.deepEqual(qemus(hosts.b), incoming, 'kept while the timeout runs');
    const keepUntil = Date.parse(String(kept.keepUntil));
    const silentSince = Date.parse(String(kept.silentSince));
    assert.ok(silentSince > crashedAt, 'the timeout counts from the first question the restarted B left unanswered');
    assert.equal(keepUntil - silentSince, ORPHAN_MS);
    const rec = dst(storeB) as StoredMigration;
    await eventually(() => qemus(hosts.b).length === 0, 'B discarded the orphaned incoming QEMU', ORPHAN_MS + 30_000);
    const log = storeB.phaseLog(rec.id, 'destination');
    assert.deepEqual(log.map((p) => p.phase), ['Prepare', 'Cancelled']);
    assert.ok((log[1]?.at ?? 0) >= keepUntil, 'not before the orphan timeout');
    assert.match(dst(storeB)?.error ?? '', /the source stayed silent/);
    // The source comes back and rolls back: the VM runs on A again.
    await hosts.a.start();
    await assertOnlyOn(hosts.a, /^running/);
  });
});
