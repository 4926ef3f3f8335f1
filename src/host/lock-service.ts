import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import type { HostService } from './host-service.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import type { HeldLease } from '../shared/lease.js';
import type { HolderReport } from '../shared/peer-protocol/lock-messages.js';

/**
 * lock-list and lock-clear: who holds what, and the seed's "just delete the
 * lock files" made safe: a lock is cleared only when no reachable host holds
 * it or runs a domain whose disk it protects.
 */
export class LockService {
  constructor(
    private readonly o: {
      host: HostService;
      hostname: string;
      peers: string[];
      connector: PeerConnector;
      /** The lockspace directories of ferryd.conf: lock-clear removes lock files there and nowhere else. */
      lockspaces: string[];
    },
  ) {}

  list(): Promise<HeldLease[]> {
    return this.o.host.locks.driver.list();
  }

  /** This host's answer for a resource (the peer API calls it for other hosts' lock-clear). */
  async holder(resource: string): Promise<HolderReport> {
    const { host } = this.o;
    const held = await host.locks.driver.held(resource);
    if (held.here) return { host: this.o.hostname, domain: held.here.name };
    for (const d of host.list()) {
      const vm = host.runningDomain(d.uuid);
      if (!vm) continue;
      const leases = await host.locks.leases(vm.def).catch(() => []);
      if (leases.some((l) => l.resource === resource)) return { host: this.o.hostname, domain: vm.name };
    }
    return { host: this.o.hostname };
  }

  async clear(resource: string, o: { peers?: string[]; force?: boolean }): Promise<{ checked: string[]; unreachable: string[] }> {
    await this.assertClearable(resource);
    const local = await this.holder(resource);
    if (local.domain) {
      throw new FerryError('LOCK_IN_USE', `Requested operation is not valid: domain '${local.domain}' on this host holds '${resource}'`);
    }
    const checked = [this.o.hostname];
    const unreachable: string[] = [];
    for (const uri of [...new Set([...this.o.peers, ...(o.peers ?? [])])]) {
      try {
        const peer = this.o.connector.client(uri, 5000);
        const r = await peer.call(PEER.lockHolder, { query: { resource } });
        if (r.domain) throw new FerryError('LOCK_IN_USE', `Requested operation is not valid: domain '${r.domain}' runs on host ${r.host} with '${resource}'`);
        checked.push(r.host);
      } catch (err) {
        if (err instanceof FerryError && err.code === 'LOCK_IN_USE') throw err;
        unreachable.push(uri);
      }
    }
    const held = await this.o.host.locks.driver.held(resource);
    if (held.anywhere && !o.force) {
      throw new FerryError(
        'LOCK_IN_USE',
        `Requested operation is not valid: '${resource}' is still locked by a holder none of the reachable hosts (${checked.join(', ')}) knows`,
        {
          hint: 'A host that is down or unreachable may still run the domain; once you know it does not, clear with --force',
        },
      );
    }
    // ferry-lockd checks again, on the file itself, before it removes anything.
    await this.o.host.locks.driver.clear(resource, this.o.lockspaces);
    return { checked, unreachable };
  }

  /** Refuses at once, before asking any peer, what can never be a lock file ferry made in a lockspace. */
  private async assertClearable(resource: string): Promise<void> {
    const refuse = (why: string): FerryError =>
      new FerryError('LOCK_CLEAR_REFUSED', `Requested operation is not valid: '${resource}' ${why}`, { details: { resource } });
    if (await this.isImagePath(resource)) {
      throw refuse(
        "is a disk image locked in place: its lock goes when its holder's does (on NFS: when the server's lock manager releases it), and lock-clear never removes an image",
      );
    }
    if (!isAbsolute(resource)) throw refuse('is not an absolute path to a lock file');
    const spaces = this.o.lockspaces.filter((d) => d !== '').map(canonical);
    if (spaces.length === 0)
      throw refuse('is not a lock file in a lockspace: this host has no lockspace directory (file_lockspace_dir, lvm_lockspace_dir, scsi_lockspace_dir)');
    if (!spaces.includes(canonical(dirname(resource)))) throw refuse(`is not a lock file in a lockspace directory (${spaces.join(', ')})`);
  }

  private async isImagePath(resource: string): Promise<boolean> {
    for (const d of this.o.host.list({ all: true })) {
      const def = this.o.host.definition(d.uuid);
      const leases = await this.o.host.locks.leases(def).catch(() => []);
      if (leases.some((l) => l.resource === resource && l.resource === l.path)) return true;
    }
    return false;
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
