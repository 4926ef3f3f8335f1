import type { HeldLease, Lease, LeaseOwner } from '../shared/lease.js';

/** ferryd → ferry-lockd requests, one JSON object per line. */
export type LockdRequest =
  | { id: number; op: 'acquire'; owner: LeaseOwner; leases: Lease[] }
  | { id: number; op: 'setpid'; uuid: string; pid: number }
  | { id: number; op: 'release'; uuid: string; resources?: string[] }
  | { id: number; op: 'list' }
  | { id: number; op: 'held'; resource: string }
  /** Removes a stale lock; `lockspaces` are ferryd's configured lockspace directories, the only places a lock file is removed from. */
  | { id: number; op: 'clear'; resource: string; lockspaces: string[] };

/** ferry-lockd → ferryd replies. `instance` changes when lockd restarts (and has lost every lease). */
export type LockdReply = { id: number; instance: string } & (
  | { ok: true; released?: Lease[]; leases?: HeldLease[]; here?: LeaseOwner; anywhere?: boolean }
  | { ok: false; error: { code: string; message: string; resource?: string } }
);
