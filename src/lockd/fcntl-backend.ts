import { mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Lease, LeaseOwner } from '../shared/lease.js';
import type { OfdLocker } from '../locking/ofd-lock.js';
import { type LockBackend, LockBusyError, LockClearRefusedError, type LockHandle } from './lock-backend.js';
import { checkLockFile } from './lock-file-check.js';

/**
 * Leases as OFD locks on byte 0 of a file: the disk image itself, or a
 * zero-length file in a lockspace directory (shared between hosts over NFS
 * or any filesystem whose locks reach every host).
 */
export class FcntlBackend implements LockBackend {
  constructor(private readonly locker: OfdLocker) {}

  async acquire(lease: Lease, _owner: LeaseOwner): Promise<LockHandle> {
    const inLockspace = lease.resource !== lease.path;
    if (inLockspace) mkdirSync(dirname(lease.resource), { recursive: true, mode: 0o700 });
    const fd = this.locker.tryLock(lease.resource, lease.mode, { create: inLockspace });
    if (fd === undefined) throw new LockBusyError(lease);
    return { kind: 'fd', fd };
  }

  async release(handle: LockHandle): Promise<void> {
    if (handle.kind === 'fd') this.locker.unlock(handle.fd);
  }

  async isHeld(resource: string): Promise<boolean> {
    return this.locker.isLocked(resource);
  }

  async clear(resource: string, lockspaces: string[]): Promise<void> {
    // A lock file in a lockspace is removed, so a new holder locks a fresh file; nothing else ever is.
    const check = checkLockFile(resource, lockspaces);
    if (!check.ok) throw new LockClearRefusedError(resource, check.reason);
    if (check.path) unlinkSync(check.path);
  }

  async close(): Promise<void> {
    // fds close with the process
  }
}
