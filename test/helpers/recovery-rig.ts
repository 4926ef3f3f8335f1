import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { FerrydHost } from './ferryd.js';
import { guestCorrupted, parseHeartbeats, waitHeartbeats } from './heartbeat.js';
import { killLeftovers } from './leftovers.js';
import { eventually, pidsMatching } from './processes.js';
import { bootSharedDiskGuest } from './shared-disk-guest.js';
import { StoreWatch, type StoredMigration } from './store-watch.js';
import { TwoHosts } from './two-hosts.js';

/**
 * Two hosts and one guest for the recovery tests (docs/migration.md's recovery list): a 256 MiB guest
 * that dirties memory, with a disk on storage both hosts see (every branch also moves or keeps a disk
 * lease) and `<on_lockfailure>poweroff` (a lease check that took a migrating VM for one that lost its
 * lease would kill it), plus what the branches need to stop a ferryd at a phase and check the end state.
 * Its members are arrow functions: a test file takes them out of the rig by name.
 */
export class RecoveryRig {
  readonly hosts = new TwoHosts();
  readonly name = 'rcv';
  uuid = '';
  storeA!: StoreWatch;
  storeB!: StoreWatch;

  /** `orphanMs`: how long B keeps an incoming VM whose source stays silent (test_migration_orphan_timeout_ms). */
  constructor(private readonly orphanMs: number) {}

  readonly start = async (): Promise<void> => {
    const { hosts, name } = this;
    await hosts.start({ extraConfigB: `test_migration_orphan_timeout_ms = ${this.orphanMs}` });
    this.uuid = await bootSharedDiskGuest(hosts, { name, memoryMiB: 256, touchMiB: 96, dirtyMiBs: 4, hbMs: 100, diskMiB: 32 });
    this.storeA = new StoreWatch(hosts.a.stateDir);
    this.storeB = new StoreWatch(hosts.b.stateDir);
  };

  readonly stop = async (): Promise<void> => {
    this.storeA?.close();
    this.storeB?.close();
    await this.hosts.stop().catch(() => undefined);
    killLeftovers(this.hosts.dir.path);
  };

  /** The QEMU processes of the domain on a host (the kernel's process list). */
  readonly qemus = (h: FerrydHost): number[] => pidsMatching(`${h.stateDir}/run/${this.uuid}`);
  readonly src = (w: StoreWatch): StoredMigration | undefined => w.latest(this.uuid, 'source');
  readonly dst = (w: StoreWatch): StoredMigration | undefined => w.latest(this.uuid, 'destination');
  readonly newest = (m: StoredMigration | undefined, since: number): StoredMigration | undefined => (m && m.startedAt >= since ? m : undefined);

  /** Freezes ferryd where it is (it cannot take another step), then kills it: a crash at exactly that point. */
  readonly crash = async (h: FerrydHost): Promise<void> => {
    process.kill(h.pid as number, 'SIGSTOP');
    await h.kill('SIGKILL');
  };

  /** Whether a host keeps a persistent definition of the domain. */
  readonly persistentOn = async (h: FerrydHost): Promise<boolean> => (await h.ok('list', '--all', '--persistent', '--name')).split('\n').includes(this.name);

  /**
   * The end state every branch must reach: one QEMU (on `host`), none on the
   * other, the state `expected` there, one persistent definition (there), no
   * definition at all left on the other host, and a guest that still beats.
   */
  readonly assertOnlyOn = async (host: FerrydHost, expected: RegExp): Promise<void> => {
    const { hosts, name, qemus } = this;
    const other = host === hosts.a ? hosts.b : hosts.a;
    await eventually(() => qemus(host).length === 1 && qemus(other).length === 0, `exactly one QEMU, on ${host === hosts.a ? 'A' : 'B'}`, 60_000);
    await eventually(
      async () => (await other.ok('list', '--all', '--name')).split('\n').every((n) => n !== name),
      'no definition left on the other host',
      30_000,
    );
    assert.match(await host.state(name), expected);
    assert.equal(await this.persistentOn(host), true, 'the persistent definition is where the VM runs');
    assert.equal(await this.persistentOn(other), false);
    const lastSeq = Math.max(-1, ...parseHeartbeats(hosts.serial(name)).map((b) => b.seq));
    await waitHeartbeats(() => host.serialLog(name), 3, { afterSeq: lastSeq });
    assert.equal(guestCorrupted(hosts.serial(name)), false, 'the guest found no corrupted page');
    assert.equal(qemus(host).length + qemus(other).length, 1);
  };

  /** The first JSON line of a ferryd's log with this message, written after byte `from` (waits for it). */
  readonly waitLogLine = async (h: FerrydHost, from: number, msg: string): Promise<Record<string, unknown>> => {
    let found: Record<string, unknown> | undefined;
    await eventually(
      () => {
        const line = readFileSync(h.logFile)
          .subarray(from)
          .toString('utf8')
          .split('\n')
          .find((l) => l.includes(msg));
        found = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
        return found !== undefined;
      },
      `${msg} (in the log)`,
      30_000,
    );
    return found as Record<string, unknown>;
  };

  /** Starts a migration A→B with these flags; once A records Perform and memory moves, gives its CLI run (still going) as `done`. */
  readonly migratingToB = async (...flags: string[]): Promise<{ done: Promise<{ code: number; stdout: string; stderr: string }> }> => {
    const { hosts, name } = this;
    const t0 = Date.now();
    const migrating = hosts.a.ferry('migrate', ...flags, name, hosts.bPeer);
    await this.storeA.waitFor((w) => this.newest(this.src(w), t0)?.phase === 'Perform', 'A records Perform');
    await eventually(async () => /Data processed: +[1-9]/.test((await hosts.a.ferry('domjobinfo', name)).stdout), 'memory is on its way');
    return { done: migrating };
  };

  /** Brings the VM back to A for the next branch. */
  readonly backToA = async (): Promise<void> => {
    await this.hosts.b.ok('migrate', '--live', '--persistent', '--undefinesource', this.name, this.hosts.aPeer);
    await this.assertOnlyOn(this.hosts.a, /^running/);
  };
}
