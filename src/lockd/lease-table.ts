import type { Logger } from 'pino';
import type { HeldLease, Lease, LeaseOwner } from '../shared/lease.js';
import { type Liveness, processLiveness } from '../system/process-liveness.js';
import type { LockBackend, LockHandle } from './lock-backend.js';

interface Held {
  lease: Lease;
  handle: LockHandle;
  since: number;
}

interface Owner {
  owner: LeaseOwner;
  /** /proc/PID/stat start time, so a reused pid is not mistaken for the owner. */
  startTime: string | undefined;
  held: Map<string, Held>;
}

/** A process's start time from /proc (field 22 of /proc/PID/stat), or undefined when it cannot be read. */
export function processStartTime(pid: number, liveness: (pid: number) => Liveness = processLiveness): string | undefined {
  const l = liveness(pid);
  return l.state === 'alive' ? l.startTime : undefined;
}

/**
 * The leases this lockd holds, by owner. Acquire is all-or-nothing. An owner
 * whose process dies (QEMU killed, or ferryd before QEMU existed) loses its
 * leases: lockd watches the pids, so no stale lock outlives a crash. Only the
 * kernel's word counts as a death: a look that fails (lockd out of
 * descriptors) releases nothing.
 */
export class LeaseTable {
  private readonly owners = new Map<string, Owner>();
  private readonly watch: NodeJS.Timeout;

  private readonly liveness: (pid: number, startTime?: string) => Liveness;

  constructor(
    private readonly backend: LockBackend,
    private readonly o: { host: string; log: Logger; watchMs?: number; liveness?: (pid: number, startTime?: string) => Liveness },
  ) {
    this.liveness = o.liveness ?? processLiveness;
    this.watch = setInterval(() => void this.reapDeadOwners(), o.watchMs ?? 250);
  }

  async acquire(owner: LeaseOwner, leases: Lease[]): Promise<void> {
    const entry = this.owners.get(owner.uuid) ?? { owner, startTime: processStartTime(owner.pid, this.liveness), held: new Map<string, Held>() };
    const taken: string[] = [];
    try {
      for (const lease of leases) {
        if (entry.held.has(lease.resource)) continue;
        const handle = await this.backend.acquire(lease, owner);
        entry.held.set(lease.resource, { lease, handle, since: Date.now() });
        taken.push(lease.resource);
      }
    } catch (err) {
      for (const r of taken) {
        const h = entry.held.get(r);
        entry.held.delete(r);
        if (h) await this.backend.release(h.handle).catch(() => undefined);
      }
      if (entry.held.size > 0) this.owners.set(owner.uuid, entry);
      throw err;
    }
    if (entry.held.size > 0) this.owners.set(owner.uuid, entry);
    this.o.log.info({ owner: owner.name, pid: owner.pid, leases: taken }, 'leases acquired');
  }

  /** The process holding the disks open changed (QEMU started, or arrived by migration). */
  setPid(uuid: string, pid: number): void {
    const e = this.owners.get(uuid);
    if (!e) return;
    e.owner = { ...e.owner, pid };
    e.startTime = processStartTime(pid, this.liveness);
  }

  /** Releases the owner's leases (all, or those named) and returns what was released (the lock state). */
  async release(uuid: string, resources?: string[]): Promise<Lease[]> {
    const e = this.owners.get(uuid);
    if (!e) return [];
    const released: Lease[] = [];
    for (const [r, h] of [...e.held]) {
      if (resources && !resources.includes(r)) continue;
      await this.backend.release(h.handle).catch((err) => this.o.log.warn({ err, resource: r }, 'release failed'));
      e.held.delete(r);
      released.push(h.lease);
    }
    if (e.held.size === 0) this.owners.delete(uuid);
    if (released.length > 0) this.o.log.info({ owner: e.owner.name, leases: released.map((l) => l.resource) }, 'leases released');
    return released;
  }

  list(): HeldLease[] {
    const out: HeldLease[] = [];
    for (const e of this.owners.values()) {
      for (const h of e.held.values()) out.push({ ...h.lease, owner: e.owner, host: this.o.host, since: h.since });
    }
    return out;
  }

  /** Held by this lockd (by whom) or, through the backend, by anyone. */
  async held(resource: string): Promise<{ here?: LeaseOwner; anywhere: boolean }> {
    for (const e of this.owners.values()) if (e.held.has(resource)) return { here: e.owner, anywhere: true };
    return { anywhere: await this.backend.isHeld(resource) };
  }

  async close(): Promise<void> {
    clearInterval(this.watch);
    await this.backend.close();
  }

  private async reapDeadOwners(): Promise<void> {
    for (const [uuid, e] of this.owners) {
      const l = this.liveness(e.owner.pid, e.startTime);
      if (l.state === 'alive') continue;
      if (l.state === 'unknown') {
        this.o.log.warn({ owner: e.owner.name, pid: e.owner.pid, error: l.error }, 'cannot tell whether the lease owner lives: keeping its leases');
        continue;
      }
      this.o.log.warn({ owner: e.owner.name, pid: e.owner.pid, why: l.why }, 'lease owner died: releasing its leases');
      await this.release(uuid);
    }
  }
}
