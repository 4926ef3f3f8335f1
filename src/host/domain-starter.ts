import type { Logger } from 'pino';
import type { VmLocks } from '../locking/vm-locks.js';
import { diskNodeNames } from '../vm/device-aliases.js';
import { formatVersion } from '../qemu/binary.js';
import type { DomainStore } from '../store/domain-store.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { DomainStatus } from '../shared/domain-state.js';
import { renderLiveXml } from '../vm/render-domain-xml.js';
import type { CgroupTuning } from './cgroup-tuning.js';
import type { DomainLauncher } from './domain-launcher.js';
import type { DomainRegistry } from './domain-registry.js';
import type { ManagedSaveImages } from './managed-save.js';
import { applyBalloonSettings } from './memory-balloon.js';
import { RunningDomain } from './running-domain.js';
import type { VcpuControl } from './vcpu-control.js';

export interface DomainStarterDeps {
  store: DomainStore;
  locks: VmLocks;
  launcher: DomainLauncher;
  registry: DomainRegistry;
  saves: ManagedSaveImages;
  vcpus: VcpuControl;
  cgroups: CgroupTuning;
  log: Logger;
  now: () => number;
}

/**
 * Brings a domain's QEMU up: its leases, the launch, the record and the
 * registry, its tuning; booted, restored from a managed save image, or
 * waiting for an incoming migration. Also takes over a QEMU found running.
 */
export class DomainStarter {
  constructor(private readonly deps: DomainStarterDeps) {}

  /** Boots a definition (virsh start, create): paused with `paused`. */
  async boot(def: DomainDefinition, paused: boolean): Promise<void> {
    const vm = await this.launchDomain(def, { status: { state: 'paused', reason: 'starting up' } });
    try {
      // A cdrom or floppy defined with <target tray='open'> starts with its tray open.
      for (const d of vm.def.devices.disks) {
        if (d.tray === 'open') await vm.monitor.call('blockdev-open-tray', { id: diskNodeNames(d.target.dev).device, force: true });
      }
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
    if (paused) {
      vm.setStatus({ state: 'paused', reason: 'user' });
      return;
    }
    try {
      vm.expectResume('booted');
      await vm.monitor.cont();
      vm.setStatus({ state: 'running', reason: 'booted' });
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
  }

  /** Starts a domain from its managed save image; the image goes once QEMU has all of it. */
  async restore(def: DomainDefinition, paused: boolean): Promise<void> {
    const { saves } = this.deps;
    const vm = await this.launchDomain(def, { incoming: true, restore: true, status: { state: 'paused', reason: 'starting up' } });
    try {
      await saves.restore(vm);
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
    const resume = !paused && saves.resumes(def.uuid);
    saves.remove(def.uuid);
    if (!resume) {
      vm.setStatus({ state: 'paused', reason: 'user' });
      return;
    }
    try {
      vm.expectResume('restored');
      await vm.monitor.cont();
      vm.setStatus({ state: 'running', reason: 'restored' });
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
  }

  /**
   * Launches QEMU for a definition (paused, -S), records the domain as running
   * with the given status and follows it. With `incoming`, QEMU waits for a migration.
   */
  async launchDomain(def: DomainDefinition, options: { status: DomainStatus; incoming?: boolean; restore?: boolean }): Promise<RunningDomain> {
    const { locks, launcher } = this.deps;
    // The last run's cleanup first: it removes the run directory this launch is about to fill.
    await this.deps.registry.cleanedUp(def.uuid);
    // A <lease> needs a lock manager here, also on a migration's destination (refused at Prepare).
    locks.assertCanHold(def);
    // The leases come first, held for ferryd until QEMU exists (an incoming domain gets them at Finish;
    // a restore from a managed save image, incoming from a file, takes them now as a start does).
    const leasesNow = !options.incoming || options.restore === true;
    if (leasesNow) await locks.acquire(def, process.pid);
    let launched: Awaited<ReturnType<DomainLauncher['launch']>>;
    try {
      launched = await launcher.launch(def, options.incoming || options.restore ? { incoming: true } : {});
      if (leasesNow) await locks.setPid(def.uuid, launched.process.pid);
    } catch (err) {
      if (leasesNow) await locks.release(def.uuid);
      throw err;
    }
    const log = this.deps.log.child({ vm: def.name });
    const vm = new RunningDomain({
      uuid: def.uuid,
      name: def.name,
      def: launched.live,
      process: launched.process,
      monitor: launched.monitor,
      status: options.status,
      accel: launched.accel,
      qemuVersion: launched.binary.version,
      log,
    });
    try {
      this.record(launched, options.status, log);
    } catch (err) {
      await launched.process.terminate();
      await launcher.cleanup(launched.live);
      throw err;
    }
    this.deps.registry.track(vm, async () => {
      await this.removeCgroup(vm);
      await launcher.cleanup(launched.live);
    });
    try {
      await this.deps.vcpus.applyPinning(vm);
      await this.deps.cgroups.apply(vm);
      await applyBalloonSettings(vm);
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
    log.info({ pid: vm.pid, accel: launched.accel, qemu: formatVersion(launched.binary.version), incoming: options.incoming ?? false }, 'QEMU launched');
    return vm;
  }

  /** Takes over a QEMU found running after a ferryd restart. */
  adopt(vm: RunningDomain): void {
    // When it stops, what its launch created goes as for any other (its cgroup, dbus-daemon, taps, run directory).
    this.deps.registry.track(vm, async () => {
      await this.removeCgroup(vm);
      await this.deps.launcher.cleanup(vm.def);
    });
  }

  /** Records the launched domain as running; libvirt's custom-argv taint when it runs <qemu:commandline>. */
  private record(launched: Awaited<ReturnType<DomainLauncher['launch']>>, status: DomainStatus, log: Logger): void {
    const { store, launcher } = this.deps;
    const def = launched.live;
    const domainId = store.markRunning(def.uuid, {
      liveXml: renderLiveXml(def),
      pid: launched.process.pid,
      state: status.state,
      reason: status.reason,
      startedAt: this.deps.now(),
    });
    // libvirt's custom-argv: QEMU runs <qemu:commandline> arguments or environment ferry cannot vouch for.
    if (def.qemuCommandline && store.taint(def.uuid, 'custom-argv')) {
      log.warn({ taint: 'custom-argv' }, 'domain is tainted: custom-argv (<qemu:commandline>)');
      launcher.appendToDomainLog(def.name, `Domain id=${domainId} is tainted: custom-argv`);
    }
  }

  /** A stopped domain's cgroup goes (its QEMU has exited); a failure is logged, never fatal. */
  private async removeCgroup(vm: RunningDomain): Promise<void> {
    try {
      await this.deps.cgroups.remove(vm.uuid, vm.pid);
    } catch (err) {
      this.deps.log.warn({ err, vm: vm.name }, 'removing the domain cgroup failed');
    }
  }
}
