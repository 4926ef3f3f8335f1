import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import type { FerrydHost } from '../helpers/ferryd.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { pidsMatching } from '../helpers/processes.js';
import { bootSharedDiskGuest } from '../helpers/shared-disk-guest.js';
import { StoreWatch } from '../helpers/store-watch.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { freePort, TwoHosts } from '../helpers/two-hosts.js';

/** The size of each host's state directory (a tmpfs). */
const STATE_MiB = 256;

/** A kept run's state directory, copied off its tmpfs before it is unmounted (to `<dir>.kept`). */
function copyOut(dir: string): void {
  spawnSync('cp', ['-a', dir, `${dir}.kept`]);
}

/** How long a destination keeps an incoming VM whose source stays silent (test_migration_orphan_timeout_ms). */
export const ORPHAN_MS = 6000;
/** migration_progress_timeout: shorter than a stall's hold, so a stalled stream is acted on while it lasts. */
export const PROGRESS_TIMEOUT_S = 10;

/** A migration's two links through proxies: `flags` and `destUri` for `ferry migrate`. */
export interface Links {
  migration: FaultProxy;
  management: FaultProxy;
  flags: string[];
  destUri: string;
  close: () => Promise<void>;
}

/**
 * Two hosts and one guest for the fault matrix: 256 MiB, 96 MiB of it touched and rewritten at 8 MiB/s and
 * scrubbed by ferry-load's memory oracle, and a 16 MiB region of its disk (a qcow2 both hosts see, the lease
 * ferry takes on it) rewritten and re-read by the same oracle; `<on_lockfailure>poweroff`, so a lease check
 * that took a migrating VM for one that lost its lease would show as a lost VM. The guest moves back and
 * forth: each trial migrates it from the host it runs on to the other.
 */
export class FaultRig {
  readonly hosts = new TwoHosts();
  readonly name = 'fm';
  uuid = '';
  private readonly stores = new Map<FerrydHost, StoreWatch>();
  private readonly mounts: string[] = [];

  async start(): Promise<void> {
    const { hosts, name } = this;
    await hosts.start({
      config: `test_migration_orphan_timeout_ms = ${ORPHAN_MS}\nmigration_progress_timeout = ${PROGRESS_TIMEOUT_S}`,
      // Each state directory on a tmpfs of its own, so one host's disk can fill up (DiskFault) and not the other's.
      beforeStart: (h) => {
        mkdirSync(h.stateDir, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${STATE_MiB}m,mode=0755`, 'tmpfs', h.stateDir]);
        this.mounts.push(h.stateDir);
      },
    });
    this.uuid = await bootSharedDiskGuest(hosts, {
      name,
      memoryMiB: 256,
      touchMiB: 96,
      dirtyMiBs: 8,
      hbMs: 100,
      extraCmdline: 'ferry.disk=/dev/vda ferry.diskmb=16 ferry.diskrate=1 ferry.diskscrub=4',
      diskMiB: 64,
    });
  }

  /** Stops everything; `keep`: the hosts' directory (logs, stores, serial output) stays for a look, and is returned. */
  async stop(o: { keep?: boolean } = {}): Promise<string | undefined> {
    for (const s of this.stores.values()) s.close();
    for (const h of [this.hosts.a, this.hosts.b]) if (h?.pid) this.thaw(h);
    await this.hosts.stop({ keep: true }).catch(() => undefined);
    killLeftovers(this.hosts.dir.path);
    if (o.keep) for (const m of this.mounts) copyOut(m);
    for (const m of this.mounts.splice(0)) spawnSync('umount', ['-l', m]);
    if (o.keep) return this.hosts.dir.path;
    this.hosts.dir.cleanup();
    return undefined;
  }

  get both(): [FerrydHost, FerrydHost] {
    return [this.hosts.a, this.hosts.b];
  }

  other(h: FerrydHost): FerrydHost {
    return h === this.hosts.a ? this.hosts.b : this.hosts.a;
  }

  label(h: FerrydHost): 'A' | 'B' {
    return h === this.hosts.a ? 'A' : 'B';
  }

  peerOf(h: FerrydHost): string {
    return h === this.hosts.a ? this.hosts.aPeer : this.hosts.bPeer;
  }

  /**
   * Routes a migration to `dst` through two proxies on 127.0.0.2: the stream (its QEMU listens on 127.0.0.1, the
   * source is sent to the proxy with --migrateuri) and the source ferryd's peer calls (the destination URI names the
   * proxy). A post-copy recovery reconnects to the fresh port the destination advertises, past the proxy.
   */
  async links(dst: FerrydHost): Promise<Links> {
    const port = await freePort();
    const migration = new FaultProxy({ host: '127.0.0.1', port });
    await migration.listen('127.0.0.2', port);
    const peer = new URL(this.peerOf(dst).replace(/^ferry\+tcp:/, 'http:'));
    const management = new FaultProxy({ host: peer.hostname, port: Number(peer.port) });
    const mport = await freePort('127.0.0.2');
    await management.listen('127.0.0.2', mport);
    return {
      migration,
      management,
      flags: ['--listen-address', '127.0.0.1', '--migrateuri', `tcp://127.0.0.2:${port}`],
      destUri: `ferry+tcp://127.0.0.2:${mport}/system`,
      close: async () => {
        await migration.close();
        await management.close();
      },
    };
  }

  /** Fills a host's state directory to the last byte; returns the undo. */
  fillDisk(h: FerrydHost): () => void {
    const filler = `${h.stateDir}/fault-filler`;
    const free = statfsSync(h.stateDir);
    // Most of it at once, then the rest written until the disk says no (ferryd and QEMU write meanwhile).
    execFileSync('fallocate', ['-l', String(Math.max(0, free.bavail - 64) * free.bsize), filler]);
    spawnSync('dd', ['if=/dev/zero', `of=${filler}-rest`, 'bs=4k'], { stdio: 'ignore' });
    if (statfsSync(h.stateDir).bavail > 0) throw new Error(`${h.stateDir} still has free blocks after filling it`);
    return () => {
      rmSync(filler, { force: true });
      rmSync(`${filler}-rest`, { force: true });
    };
  }

  /** A host's store, opened once ferryd created it. */
  store(h: FerrydHost): StoreWatch {
    let s = this.stores.get(h);
    if (!s) {
      s = new StoreWatch(h.stateDir);
      this.stores.set(h, s);
    }
    return s;
  }

  /** The domain's QEMU processes on a host (the kernel's process list). */
  qemus(h: FerrydHost): number[] {
    const qemu = new Set(pidsMatching('qemu-system'));
    return pidsMatching(`${h.stateDir}/run/${this.uuid}`).filter((pid) => qemu.has(pid));
  }

  /** Every process of the domain on a host (QEMU, swtpm, a storage daemon): a clean host has none. */
  domainProcesses(h: FerrydHost): number[] {
    return pidsMatching(`${h.stateDir}/run/${this.uuid}`);
  }

  lockds(h: FerrydHost): number[] {
    return pidsMatching(h.lockdSocket);
  }

  freeze(h: FerrydHost): void {
    if (h.pid) process.kill(h.pid, 'SIGSTOP');
  }

  thaw(h: FerrydHost): void {
    if (h.pid) process.kill(h.pid, 'SIGCONT');
  }

  /** Where the guest's QEMU runs; undefined when none does. */
  runningOn(): FerrydHost | undefined {
    return this.both.find((h) => this.qemus(h).length > 0);
  }

  async persistentOn(h: FerrydHost): Promise<boolean> {
    return (await h.ok('list', '--all', '--persistent', '--name')).split('\n').includes(this.name);
  }

  /** Brings the guest back to a running state for the next trial (a trial may leave it crashed); the host it runs on. */
  async ensureRunning(): Promise<FerrydHost> {
    const on = this.runningOn();
    if (on && /^running/.test(await on.state(this.name))) return on;
    const home = (await this.persistentOn(this.hosts.a)) ? this.hosts.a : this.hosts.b;
    if (on) await on.ferry('destroy', this.name);
    const log = this.logAfter(home);
    await home.ok('start', this.name);
    await waitHeartbeats(log, 2, { timeoutMs: 90_000 });
    return home;
  }

  /** The guest's serial output on a host from now on (the whole log if it was started anew). */
  logAfter(h: FerrydHost): () => string {
    const from = h.serialLog(this.name).length;
    return () => {
      const s = h.serialLog(this.name);
      return s.length >= from ? s.slice(from) : s;
    };
  }
}
