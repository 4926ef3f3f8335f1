import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * <on_lockfailure> poweroff, restart and ignore, for real (pause is in
 * locking.test.ts): a running domain loses its disk lease to a holder ferry
 * cannot see (a process with an OFD lock on the lockspace file, as another
 * host's lockd would hold it) while ferry-lockd was down; when ferryd takes
 * the leases back it cannot, and the domain's action applies.
 */
describe('on_lockfailure actions', () => {
  const dir = tempDir('ferry-lockfail-');
  const lockspace = `${dir.path}/lockspace`;
  const disk = `${dir.path}/lf.qcow2`;
  const host = new FerrydHost({ dir: `${dir.path}/a`, config: `${dir.path}/a.conf` });
  let resource = '';
  let holder: ChildProcess | undefined;
  const UUID = crypto.randomUUID();

  before(async () => {
    mkdirSync(lockspace, { recursive: true });
    writeFileSync(`${dir.path}/a.conf`, `file_lockspace_dir = "${lockspace}"\n`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '32M']);
    resource = `${lockspace}/${sha256(realpathSync(disk))}`;
    await host.start();
  });
  after(async () => {
    holder?.kill('SIGKILL');
    await host.ferry('destroy', 'lf');
    await host.stopAll();
    killLeftovers(dir.path);
    dir.cleanup();
  });

  const qemus = (uuid: string): number[] => pidsMatching(`${host.stateDir}/run/${uuid}`);

  /** Defines the domain with this action and starts it; resolves with its uuid once the guest beats. */
  async function boot(action: string): Promise<string> {
    const xml = guestXml({
      name: 'lf',
      uuid: UUID,
      hbMs: 100,
      disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>`,
    }).replace('</on_crash>', `</on_crash>\n  <on_lockfailure>${action}</on_lockfailure>`);
    writeFileSync(`${dir.path}/lf.xml`, xml);
    await host.ok('define', `${dir.path}/lf.xml`);
    const from = host.serialLog('lf').length;
    await host.ok('start', 'lf');
    await waitHeartbeats(() => host.serialLog('lf').slice(from), 2, { timeoutMs: 90_000 });
    assert.match(await host.ok('lock-list'), / exclusive +lf +vda /);
    return (await host.ok('domuuid', 'lf')).trim();
  }

  /**
   * The lease goes to another holder while ferryd cannot react (stopped) and
   * its ferry-lockd is dead; `whileStopped` runs before ferryd continues.
   */
  async function loseLease(whileStopped: () => void = () => undefined): Promise<void> {
    const ferryd = host.pid as number;
    process.kill(ferryd, 'SIGSTOP');
    try {
      for (const pid of pidsMatching(host.lockdSocket)) process.kill(pid, 'SIGKILL');
      await eventually(() => pidsMatching(host.lockdSocket).length === 0, 'ferry-lockd is gone');
      holder = spawn(
        process.execPath,
        [
          '-e',
          `import('${new URL('../../src/locking/ofd-lock.js', import.meta.url).href}').then(m=>{new m.OfdLocker().tryLock('${resource}','exclusive',{create:true});console.log('locked');setInterval(()=>{},1000)})`,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      await new Promise<void>((resolve) => holder?.stdout?.once('data', () => resolve()));
      whileStopped();
    } finally {
      process.kill(ferryd, 'SIGCONT');
    }
  }

  function releaseLease(): void {
    holder?.kill('SIGKILL');
    holder = undefined;
  }

  /** The first log line (after byte `from`) with this message, parsed. */
  async function logLine(from: number, msg: string): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await eventually(
      () => {
        const line = readFileSync(host.logFile)
          .subarray(from)
          .toString('utf8')
          .split('\n')
          .find((l) => l.includes(msg));
        found = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
        return found !== undefined;
      },
      msg,
      15_000,
    );
    return found as Record<string, unknown>;
  }

  it('ignore: the domain keeps running without its lease; only the log says so', async () => {
    const uuid = await boot('ignore');
    const [pid] = qemus(uuid);
    const from = statSync(host.logFile).size;
    await loseLease();
    try {
      const line = await logLine(from, 'applying on_lockfailure');
      assert.equal(line.action, 'ignore');
      assert.equal(line.resource, resource);
      await logLine(from, '"msg":"lease check done"');
      assert.deepEqual(qemus(uuid), [pid], 'the same QEMU runs on');
      assert.match(await host.state('lf'), /^running/);
      const seq = Math.max(...parseHeartbeats(host.serialLog('lf')).map((b) => b.seq));
      await waitHeartbeats(() => host.serialLog('lf'), 2, { afterSeq: seq });
      assert.doesNotMatch(await host.ok('lock-list'), / lf +vda /, 'it holds no lease now');
    } finally {
      releaseLease();
    }
    await host.ok('destroy', 'lf');
  });

  it('poweroff: the domain is destroyed at once and stays off; it starts again once the other holder lets go', async () => {
    const uuid = await boot('poweroff');
    const from = statSync(host.logFile).size;
    await loseLease();
    try {
      assert.equal((await logLine(from, 'applying on_lockfailure')).action, 'poweroff');
      await eventually(() => qemus(uuid).length === 0, 'QEMU is gone');
      await logLine(from, '"msg":"lease check done"');
      assert.equal(await host.state('lf'), 'shut off (destroyed)');
      assert.equal(qemus(uuid).length, 0, 'nothing started it again');
      assert.match((await host.ferry('start', 'lf')).stderr, /resource busy: Lockspace resource '[0-9a-f]{64}' is locked/);
    } finally {
      releaseLease();
    }
    await eventually(async () => (await host.ferry('start', 'lf')).code === 0, 'it starts once the lease is free');
    await host.ok('destroy', 'lf');
  });

  it('restart: the domain is destroyed and started again, and the new start takes the lease', async () => {
    const uuid = await boot('restart');
    const [old] = qemus(uuid);
    const from = statSync(host.logFile).size;
    const bootLog = host.serialLog('lf').length;
    // The old QEMU is held still, so it cannot end (and the restart cannot begin) before the test says so.
    await loseLease(() => process.kill(old as number, 'SIGSTOP'));
    let lockd: number[] = [];
    try {
      assert.equal((await logLine(from, 'applying on_lockfailure')).action, 'restart');
      // The restart's lease request waits at a stopped ferry-lockd while the other holder lets go.
      lockd = pidsMatching(host.lockdSocket);
      assert.equal(lockd.length, 1);
      for (const pid of lockd) process.kill(pid, 'SIGSTOP');
      releaseLease();
    } finally {
      process.kill(old as number, 'SIGCONT');
      for (const pid of lockd) process.kill(pid, 'SIGCONT');
    }
    await eventually(() => qemus(uuid).length === 1 && qemus(uuid)[0] !== old, 'a new QEMU runs', 30_000);
    await host.waitState('lf', /^running/);
    await waitHeartbeats(() => host.serialLog('lf').slice(bootLog), 2, { timeoutMs: 90_000 });
    assert.match(await host.ok('lock-list'), / exclusive +lf +vda /, 'the new QEMU holds the lease');
    await host.ok('destroy', 'lf');
  });
});
