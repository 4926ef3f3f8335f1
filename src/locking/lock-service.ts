import { FerryError } from '../errors/ferry-error.js';
import type { HostService } from '../host/host-service.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import type { HeldLease } from './lease.js';

export interface HolderReport {
  host: string;
  /** A domain here holds the resource or runs with a disk it protects. */
  domain?: string;
}

/**
 * lock-list and lock-clear: who holds what, and the seed's "just delete the
 * lock files" made safe: a lock is cleared only when no reachable host holds
 * it or runs a domain whose disk it protects.
 */
export class LockService {
  constructor(private readonly o: { host: HostService; hostname: string; peers: string[]; connector: PeerConnector }) {}

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
    const local = await this.holder(resource);
    if (local.domain) {
      throw new FerryError('LOCK_IN_USE', `Requested operation is not valid: domain '${local.domain}' on this host holds '${resource}'`);
    }
    const checked = [this.o.hostname];
    const unreachable: string[] = [];
    for (const uri of [...new Set([...this.o.peers, ...(o.peers ?? [])])]) {
      try {
        const peer = this.o.connector.client(uri, 5000);
        const r = await peer.get<HolderReport>(`/peer/v1/locks/holder?resource=${encodeURIComponent(resource)}`);
        if (r.domain) throw new FerryError('LOCK_IN_USE', `Requested operation is not valid: domain '${r.domain}' runs on host ${r.host} with '${resource}'`);
        checked.push(r.host);
      } catch (err) {
        if (err instanceof FerryError && err.code === 'LOCK_IN_USE') throw err;
        unreachable.push(uri);
      }
    }
    const held = await this.o.host.locks.driver.held(resource);
    if (held.anywhere && !o.force) {
      throw new FerryError('LOCK_IN_USE', `Requested operation is not valid: '${resource}' is still locked by a holder none of the reachable hosts (${checked.join(', ')}) knows`, {
        hint: 'A host that is down or unreachable may still run the domain; once you know it does not, clear with --force',
      });
    }
    const inLockspace = !(await this.isImagePath(resource));
    await this.o.host.locks.driver.clear(resource, inLockspace);
    return { checked, unreachable };
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
