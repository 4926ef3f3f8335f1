import type { Lease, LeaseOwner } from '../shared/lease.js';

/** What holding one lease takes, for the backend to give it up again. */
export type LockHandle = { kind: 'fd'; fd: number } | { kind: 'etcd'; key: string };

/** Thrown when a conflicting holder has the resource. */
export class LockBusyError extends Error {
  constructor(readonly lease: Lease) {
    super(`resource busy: Lockspace resource '${lease.label}' is locked`);
  }
}

/** lock-clear named something that is not a lock file ferry made in a lockspace. */
export class LockClearRefusedError extends Error {
  constructor(
    readonly resource: string,
    readonly reason: string,
  ) {
    super(`refusing to clear '${resource}': ${reason}`);
  }
}

/** Where ferry-lockd keeps leases: OFD locks on files (a lockspace directory, or the images), or etcd keys. */
export interface LockBackend {
  acquire(lease: Lease, owner: LeaseOwner): Promise<LockHandle>;
  release(handle: LockHandle): Promise<void>;
  /** True when anyone (any host) holds the resource. */
  isHeld(resource: string): Promise<boolean>;
  /**
   * Removes a stale lock (the caller made sure nobody runs the domain). A
   * file is removed only when it is a lock file in one of `lockspaces`
   * (checkLockFile); anything else throws LockClearRefusedError.
   */
  clear(resource: string, lockspaces: string[]): Promise<void>;
  close(): Promise<void>;
}
