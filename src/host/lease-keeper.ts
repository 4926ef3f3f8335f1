import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { HostService } from './host-service.js';
import type { RunningDomain } from './running-domain.js';
import type { LockFailureAction } from '../vm/definition.js';
import type { Lease } from '../shared/lease.js';
import type { LockdClient } from '../locking/lockd-client.js';

export interface LeaseKeeperDeps {
  host: HostService;
  lockd: Pick<LockdClient, 'watch' | 'onRestart' | 'ensureRunning' | 'list'>;
  /** A migration owns this domain's leases right now (it releases and takes them itself). */
  busy: (uuid: string) => boolean;
  log: Logger;
  /** Longest wait between attempts to bring ferry-lockd back. */
  maxRetryMs?: number;
  /**
   * Pause the domains holding leases as soon as ferry-lockd goes, before
   * starting it again (etcd: a lockd that lost its session exits while its
   * keys can still expire any moment; its restart must not be in that race).
   */
  fenceOnLoss?: boolean;
}

export interface LeaseRepair {
  domain: string;
  /** Resources taken back. */
  reacquired: string[];
  /** Set when another holder has a lease now: what on_lockfailure did. */
  lockFailure?: { resource: string; action: LockFailureAction };
}

/**
 * Keeps running domains holding their leases when ferry-lockd dies.
 *
 * A lockd that ends (crash, OOM kill, an operator's kill) drops every OFD
 * lock or etcd lease it held, and the disks of running domains are no longer
 * protected. The keeper notices at once (an idle connection to lockd
 * closes), starts lockd again and takes each running domain's leases back.
 * A lease another host took in between cannot come back, nor one lockd
 * cannot check (etcd unreachable): the domain's on_lockfailure says what
 * happens (ferry's default, pause, stops its writes; `ferry resume` retries
 * the leases). The same repair runs when
 * ferryd starts, for a lockd that ended while ferryd was down.
 */
export class LeaseKeeper {
  private stopWatching: (() => void) | undefined;
  private closed = false;
  /** Domains fence() paused, to resume once their leases are held again. */
  private readonly fenced = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: LeaseKeeperDeps) {}

  start(): Promise<LeaseRepair[]> {
    this.d.lockd.onRestart(() => void this.repair());
    this.stopWatching = this.d.lockd.watch(() => void this.lost());
    return this.repair();
  }

  stop(): void {
    this.closed = true;
    this.stopWatching?.();
  }

  /** Takes back what running domains miss; runs one at a time (a second call waits for the first). */
  repair(): Promise<LeaseRepair[]> {
    const next = this.queue.then(() => this.repairOnce());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async lost(): Promise<void> {
    if (this.closed) return;
    this.d.log.error('ferry-lockd went away and with it every lease it held: starting it again to take them back');
    if (this.d.fenceOnLoss) await this.fence();
    for (let delay = 50; !this.closed; delay = Math.min(delay * 2, this.d.maxRetryMs ?? 2000)) {
      try {
        await this.d.lockd.ensureRunning();
        break;
      } catch (err) {
        this.d.log.error({ err }, 'ferry-lockd does not start yet');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (this.closed) return;
    this.stopWatching = this.d.lockd.watch(() => void this.lost());
    await this.repair();
  }

  /**
   * Stops the vCPUs of every running domain that holds leases (on_lockfailure
   * ignore excepted) at once: they write nothing until the leases are held
   * again (repair resumes them) or on_lockfailure decides otherwise.
   */
  private async fence(): Promise<void> {
    const { host, log } = this.d;
    const paused: string[] = [];
    await Promise.all(
      host.list().map(async (d) => {
        const vm = host.runningDomain(d.uuid);
        if (!vm || this.d.busy(vm.uuid) || vm.status.state !== 'running' || (vm.def.onLockFailure ?? 'pause') === 'ignore') return;
        const leases = await host.locks.leases(vm.def).catch(() => [] as Lease[]);
        if (leases.length === 0) return;
        try {
          await host.pauseForLockFailure(vm.uuid);
          this.fenced.add(vm.uuid);
          paused.push(vm.name);
        } catch (err) {
          log.error({ err, vm: vm.name }, 'cannot pause the domain while its leases are not held');
        }
      }),
    );
    if (paused.length > 0) log.warn({ domains: paused }, 'paused until their leases are held again');
  }

  private async repairOnce(): Promise<LeaseRepair[]> {
    if (this.closed) return [];
    const { host, log } = this.d;
    const repairs: LeaseRepair[] = [];
    let held: Set<string>;
    try {
      held = new Set((await this.d.lockd.list()).map((l) => `${l.owner.uuid} ${l.resource}`));
    } catch (err) {
      log.error({ err }, 'cannot ask ferry-lockd what it holds');
      return repairs;
    }
    for (const d of host.list()) {
      const vm = host.runningDomain(d.uuid);
      if (!vm || this.d.busy(vm.uuid)) continue;
      const leases = await host.locks.leases(vm.def).catch((err: unknown) => {
        log.error({ err, vm: vm.name }, 'cannot tell which leases the domain needs');
        return [] as Lease[];
      });
      const missing = leases.filter((l) => !held.has(`${vm.uuid} ${l.resource}`));
      if (missing.length === 0) {
        await this.unfence(vm);
        continue;
      }
      try {
        await host.locks.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, missing);
        log.warn({ vm: vm.name, leases: missing.map((l) => l.resource) }, 'leases taken back after ferry-lockd restarted');
        repairs.push({ domain: vm.name, reacquired: missing.map((l) => l.resource) });
        await this.unfence(vm);
      } catch (err) {
        // Held by another holder, or lockd cannot tell (etcd unreachable): either way the domain runs without its lease.
        if (!(err instanceof FerryError && (err.code === 'LOCK_HELD' || err.code === 'LOCK_BACKEND_FAILED'))) {
          log.error({ err, vm: vm.name }, "cannot take the domain's leases back");
          continue;
        }
        const resource = String(err.details.resource ?? missing[0]?.resource ?? '');
        this.fenced.delete(vm.uuid);
        repairs.push({ domain: vm.name, reacquired: [], lockFailure: { resource, action: await this.lockFailure(vm, resource) } });
      }
    }
    log.info({ repairs: repairs.length }, 'lease check done');
    return repairs;
  }

  /** Resumes a domain fence() paused, now that it holds its leases again. */
  private async unfence(vm: RunningDomain): Promise<void> {
    if (!this.fenced.delete(vm.uuid)) return;
    try {
      if (await this.d.host.resumeAfterLockFailure(vm.uuid)) this.d.log.warn({ vm: vm.name }, 'leases held again: domain resumed');
    } catch (err) {
      this.d.log.error({ err, vm: vm.name }, 'cannot resume the domain after its leases were taken back');
    }
  }

  /** Applies on_lockfailure (libvirt's actions; ferry's default is pause). */
  private async lockFailure(vm: RunningDomain, resource: string): Promise<LockFailureAction> {
    const action = vm.def.onLockFailure ?? 'pause';
    const { host, log } = this.d;
    log.error({ vm: vm.name, resource, action }, "another holder has the domain's lease: applying on_lockfailure");
    host.publish({ type: 'domain.lockfailure', uuid: vm.uuid, name: vm.name, resource, action, at: Date.now() });
    try {
      if (action === 'pause') await host.pauseForLockFailure(vm.uuid);
      // restart: ferryd starts it again once QEMU is gone; that start takes the leases or fails with "resource busy".
      if (action === 'poweroff' || action === 'restart') await vm.destroy('destroyed', action === 'restart');
    } catch (err) {
      log.error({ err, vm: vm.name, action }, 'on_lockfailure action failed');
    }
    return action;
  }
}
