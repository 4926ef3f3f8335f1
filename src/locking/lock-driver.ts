import type { HeldLease, Lease, LeaseOwner } from '../shared/lease.js';

/**
 * The lock manager as ferryd sees it (libvirt's lock_driver.h): lockd talks
 * to ferry-lockd, nop locks nothing. Leases are acquired before QEMU runs
 * the guest, released when it stops, and handed over in a migration.
 */
export interface LockDriver {
  readonly name: 'lockd' | 'nop';
  acquire(owner: LeaseOwner, leases: Lease[]): Promise<void>;
  /** QEMU exists now: its death releases the leases. */
  setPid(uuid: string, pid: number): Promise<void>;
  /** Releases and returns the lock state (what a migration destination must acquire); only `resources` when given. */
  release(uuid: string, resources?: string[]): Promise<Lease[]>;
  list(): Promise<HeldLease[]>;
  held(resource: string): Promise<{ here?: LeaseOwner; anywhere: boolean }>;
  /** Removes a stale lock through ferry-lockd, which removes a file only if it is a lock file in one of `lockspaces`. */
  clear(resource: string, lockspaces: string[]): Promise<void>;
}

/** lock_manager = "nop": no leases at all. */
export class NopLockDriver implements LockDriver {
  readonly name = 'nop' as const;
  async acquire(): Promise<void> {}
  async setPid(): Promise<void> {}
  async release(): Promise<Lease[]> {
    return [];
  }
  async list(): Promise<HeldLease[]> {
    return [];
  }
  async held(): Promise<{ anywhere: boolean }> {
    return { anywhere: false };
  }
  async clear(): Promise<void> {}
}
