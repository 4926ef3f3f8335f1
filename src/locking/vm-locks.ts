import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import type { Lease, LeaseOwner } from '../shared/lease.js';
import { leasesFor, type LockspaceConfig } from './lease-resources.js';
import type { LockDriver } from './lock-driver.js';
import type { VolumeUuids } from './volume-uuid.js';

/**
 * The domain-level face of the lock manager (libvirt's domain_lock.h): which
 * leases a domain needs, taking them before its vCPUs run, giving them up
 * when it stops, and handing them over in a migration.
 */
export class VmLocks {
  constructor(
    private readonly o: {
      driver: LockDriver;
      config: LockspaceConfig;
      uuids: VolumeUuids;
      /** The path of a disk on this host (volumes resolved through their pool); undefined for an empty drive. */
      diskPath: (disk: DiskDefinition) => string | undefined;
      log: Logger;
    },
  ) {}

  get enabled(): boolean {
    return this.o.driver.name !== 'nop';
  }

  get driver(): LockDriver {
    return this.o.driver;
  }

  leases(def: DomainDefinition): Promise<Lease[]> {
    return leasesFor(def, this.o.config, { uuids: this.o.uuids, resolveDisk: this.o.diskPath });
  }

  /**
   * Refuses a domain with a <lease> on a host without a lock manager (before
   * anything starts, here or as a migration's destination): its lease would
   * protect nothing, and ferry never drops an element silently.
   */
  assertCanHold(def: DomainDefinition): void {
    const lease = def.devices.leases?.[0];
    if (lease && !this.enabled) {
      throw new FerryError(
        'LOCK_MANAGER_REQUIRED',
        `unsupported configuration: <lease> '${lease.key}' needs a lock manager, and this host runs with lock_manager = "nop"`,
      );
    }
  }

  /** Takes the domain's leases for `pid` (ferryd's own pid until QEMU exists). */
  async acquire(def: DomainDefinition, pid: number): Promise<void> {
    if (!this.enabled) return;
    await this.acquireLeases(owner(def, pid), await this.leases(def));
  }

  /** Takes leases handed over by a migration source (the destination, before it resumes). */
  async acquireLeases(who: LeaseOwner, leases: Lease[]): Promise<void> {
    if (!this.enabled || leases.length === 0) return;
    try {
      await this.o.driver.acquire(who, leases);
    } catch (err) {
      if (err instanceof FerryError && err.code === 'LOCK_HELD') throw err;
      throw err;
    }
  }

  async setPid(uuid: string, pid: number): Promise<void> {
    if (this.enabled) await this.o.driver.setPid(uuid, pid);
  }

  /** Gives up these leases of the domain (a disk it no longer uses); keeps the others. */
  async releaseLeases(uuid: string, leases: Lease[]): Promise<void> {
    if (!this.enabled || leases.length === 0) return;
    try {
      await this.o.driver.release(
        uuid,
        leases.map((l) => l.resource),
      );
    } catch (err) {
      this.o.log.error({ err, uuid }, 'cannot release leases');
    }
  }

  /** Gives up every lease of the domain; returns them (a migration's lock state). */
  async release(uuid: string): Promise<Lease[]> {
    if (!this.enabled) return [];
    try {
      return await this.o.driver.release(uuid);
    } catch (err) {
      this.o.log.error({ err, uuid }, 'cannot release leases');
      return [];
    }
  }
}

export function owner(def: DomainDefinition, pid: number): LeaseOwner {
  return { uuid: def.uuid, name: def.name, pid };
}
