import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { VmLocks } from '../locking/vm-locks.js';
import type { DomainRecord, DomainStore } from '../store/domain-store.js';
import { asyncJob, type DomainJobs } from '../vm/jobs.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import type { DomainDefinitions } from './domain-definitions.js';
import type { DomainRegistry } from './domain-registry.js';
import type { DomainStarter } from './domain-starter.js';
import { syncGuestClock } from './guest-clock.js';
import type { ManagedSaveImages, ManagedSaveOptions } from './managed-save.js';
import { pauseVcpus, resumeVcpus } from './vcpu-pause.js';

export interface DomainLifecycleDeps {
  store: DomainStore;
  locks: VmLocks;
  jobs: DomainJobs;
  definitions: DomainDefinitions;
  registry: DomainRegistry;
  starter: DomainStarter;
  saves: ManagedSaveImages;
  log: Logger;
}

/** The lifecycle verbs (virsh create, start, shutdown, destroy, reboot, reset, suspend, resume, managedsave), each as a job. */
export class DomainLifecycle {
  constructor(private readonly deps: DomainLifecycleDeps) {}

  /** Starts a transient domain from XML (virsh create). */
  async create(xml: string, options: { paused?: boolean } = {}): Promise<DomainRecord> {
    const { store, definitions } = this.deps;
    const def = await definitions.parseTransient(xml);
    if (store.get(def.uuid) || store.findByName(def.name)) {
      const other = store.findByName(def.name) ?? store.get(def.uuid);
      throw new FerryError('DOMAIN_EXISTS', `operation failed: domain '${other?.name}' already exists with uuid ${other?.uuid}`);
    }
    return this.deps.jobs.run(def.uuid, 'create', async () => {
      store.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: null });
      try {
        await this.deps.starter.boot(def, options.paused ?? false);
      } catch (err) {
        store.markStopped(def.uuid, 'failed');
        throw err;
      }
      return definitions.lookup(def.uuid);
    });
  }

  async start(ref: string, options: { paused?: boolean; forceBoot?: boolean } = {}): Promise<DomainRecord> {
    const { definitions, saves, starter } = this.deps;
    const rec = definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'start', async () => {
      const current = definitions.lookup(rec.uuid);
      if (current.liveXml !== null) {
        throw new FerryError('DOMAIN_ALREADY_RUNNING', 'Requested operation is not valid: domain is already running');
      }
      const def = parseDomainXml(current.persistentXml as string);
      // A managed save image brings the domain back where it was saved; --force-boot discards it (virsh start).
      if (options.forceBoot) saves.remove(rec.uuid);
      if (saves.has(rec.uuid)) await starter.restore(def, options.paused ?? false);
      else await starter.boot(def, options.paused ?? false);
      return definitions.lookup(rec.uuid);
    });
  }

  /** virsh managedsave: the running (or paused) domain's state to its image, then QEMU ends (shut off, saved). */
  async managedSave(ref: string, options: ManagedSaveOptions = {}): Promise<DomainRecord> {
    const rec = this.deps.definitions.lookup(ref);
    // An async job, as libvirt's: while QEMU writes the image, only query, abort and destroy may run beside it.
    return this.deps.jobs.run(
      rec.uuid,
      'managedsave',
      async () => {
        if (rec.persistentXml === null) {
          throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot do managed save for transient domain');
        }
        const vm = this.deps.registry.require(rec);
        await this.deps.saves.save(vm, options);
        // QEMU ends as after a shutdown: leases released, run directory and helpers cleaned up.
        await vm.destroy('saved');
        return this.deps.definitions.lookup(rec.uuid);
      },
      { async: asyncJob('managedsave') },
    );
  }

  /** virsh managedsave-remove: false when the domain had no image. */
  async managedSaveRemove(ref: string): Promise<boolean> {
    const rec = this.deps.definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'managedsave-remove', async () => this.deps.saves.remove(rec.uuid));
  }

  /**
   * Sends the ACPI power button (mode 'acpi'), or asks the guest agent to power down
   * (mode 'agent'); the domain shuts off when the guest powers down.
   */
  async shutdown(ref: string, mode: 'acpi' | 'agent' = 'acpi'): Promise<DomainRecord> {
    const rec = this.deps.definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'shutdown', async () => {
      const vm = this.deps.registry.require(rec);
      if (mode === 'agent') await (await vm.agent.agent()).shutdown('powerdown');
      else await vm.monitor.systemPowerdown();
      return rec;
    });
  }

  async destroy(ref: string): Promise<DomainRecord> {
    const rec = this.deps.definitions.lookup(ref);
    // destroy may interrupt any job but a migration's critical section (libvirt's destroy is not a normal job):
    // every async job's mask allows it (vm/jobs.ts).
    const vm = this.deps.registry.require(rec);
    await vm.destroy('destroyed');
    return rec;
  }

  async reboot(ref: string): Promise<DomainRecord> {
    const rec = this.deps.definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'reboot', async () => {
      await this.deps.registry.require(rec).reboot();
      return rec;
    });
  }

  async reset(ref: string): Promise<DomainRecord> {
    const rec = this.deps.definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'reset', async () => {
      await this.deps.registry.require(rec).monitor.systemReset();
      return rec;
    });
  }

  async suspend(ref: string): Promise<DomainRecord> {
    const rec = this.deps.definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'suspend', async () => {
      await pauseVcpus(this.deps.registry.require(rec), 'user');
      return this.deps.definitions.lookup(rec.uuid);
    });
  }

  async resume(ref: string): Promise<DomainRecord> {
    const { definitions, locks } = this.deps;
    const rec = definitions.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'resume', async () => {
      const vm = this.deps.registry.require(rec);
      if (vm.status.state === 'paused' || vm.status.state === 'crashed') {
        // Its leases first: a domain paused because it lost one runs again only once it holds them all.
        await locks.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, await locks.leases(vm.def));
        await resumeVcpus(vm);
        // The guest's clock stood still while it was paused (best effort, through the agent).
        await syncGuestClock(vm, { log: this.deps.log, why: 'resumed', waitOpenMs: 0 });
      }
      return definitions.lookup(rec.uuid);
    });
  }

  /**
   * on_lockfailure = pause: stops the vCPUs at once, whatever job runs (the
   * domain lost a disk lease to another holder and must not write).
   */
  async pauseForLockFailure(uuid: string): Promise<void> {
    const vm = this.deps.registry.get(uuid);
    if (vm) await pauseVcpus(vm, 'lock failure');
  }

  /**
   * Undoes pauseForLockFailure once the leases are held again: resumes the
   * vCPUs only if the domain is still paused for that reason (not by a user
   * or an I/O error meanwhile).
   */
  async resumeAfterLockFailure(uuid: string): Promise<boolean> {
    const vm = this.deps.registry.get(uuid);
    if (!vm || vm.status.state !== 'paused' || vm.status.reason !== 'lock failure') return false;
    await resumeVcpus(vm);
    return true;
  }
}
