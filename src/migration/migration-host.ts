import type { DomainEvent } from '../shared/domain-events.js';
import type { RunningDomain } from '../host/running-domain.js';
import type { Lease, LeaseOwner } from '../shared/lease.js';
import type { DomainRecord } from '../store/domain-store.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { DomainStatus } from '../shared/domain-state.js';

/** The async jobs a migration holds a domain with (their masks are in vm/jobs.ts). */
export type MigrationJobName = 'migration out' | 'migration in';

/**
 * What the migration code needs from the host it runs on (a port, as STYLE.md 10.9): the domains'
 * records and running QEMUs, the job lock, the disk leases handed over, and the host's events.
 * HostService implements it; migration code never reaches the host's store, jobs or locks.
 */
export interface MigrationHost {
  // ---- domains ----
  /** Finds a domain by id, uuid or name (DOMAIN_NOT_FOUND otherwise). */
  lookup(ref: string): DomainRecord;
  /** The domain's record, if this host has one. */
  domainRecord(uuid: string): DomainRecord | undefined;
  /** The record of the domain with this name, if any. */
  domainNamed(name: string): DomainRecord | undefined;
  runningDomain(uuid: string): RunningDomain | undefined;
  /** Records a domain's definition (null: a transient domain arriving or staying). */
  saveDefinition(input: { uuid: string; name: string; persistentXml: string | null }): DomainRecord;
  /** Records that a domain whose QEMU is gone stopped, with libvirt's reason. */
  markStopped(uuid: string, reason: string): void;
  /** Removes the persistent definition (--undefinesource); the TPM state goes once nothing of the domain is left. */
  undefineRecord(uuid: string): void;
  /** Launches QEMU for a definition; with `incoming`, it waits for the migration stream. */
  launchDomain(def: DomainDefinition, options: { status: DomainStatus; incoming?: boolean; restore?: boolean }): Promise<RunningDomain>;
  /** The definition as it travels to another host. */
  portableDefinition(uuid: string): DomainDefinition;
  defaultNvramPath(name: string, format: 'raw' | 'qcow2'): string;
  stageForQemu(uuid: string, name: string, files: string[]): string;
  tpmState(def: DomainDefinition): Record<string, string>;
  receiveTpmState(def: DomainDefinition, files: Record<string, string>): void;
  noteInDomainLog(name: string, line: string): void;
  publish(event: DomainEvent): void;

  // ---- the job lock ----
  /** Takes the domain for a migration (failing at once if another job holds it); call release() once. */
  beginMigrationJob(uuid: string, job: MigrationJobName): Promise<() => void>;

  // ---- disk leases ----
  /** A lock manager holds disk leases on this host (they are handed over at the switch). */
  leasesEnabled(): boolean;
  /** The leases a definition needs. */
  leasesOf(def: DomainDefinition): Promise<Lease[]>;
  acquireLeases(owner: LeaseOwner, leases: Lease[]): Promise<void>;
  /** Gives up all of a domain's leases for the destination; returns the lock state it must acquire. */
  handOverLeases(uuid: string): Promise<Lease[]>;
}
