import { FerryError } from '../errors/ferry-error.js';
import { CpuMonitor } from '../qemu/cpu-monitor.js';
import { CpuAffinity, onlineHostCpus, processThreads, threadAffinity, threadCpuStats } from '../system/cpu-affinity.js';
import type { DomainRecord } from '../store/domain-store.js';
import { formatCpuset, parseCpuset } from '../vm/cpuset.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import { currentVcpus, emulatorAffinity, placedCpuset, vcpuAffinity, vcpuSlot, vcpuStates, withVcpuCount, withVcpusOnline } from '../vm/vcpus.js';
import { iothreadAffinity } from '../vm/iothreads.js';
import type { SyncJobName } from '../vm/jobs.js';
import { numatuneParameters } from '../vm/auto-placement.js';
import type { HostService } from './host-service.js';
import type { RunningDomain } from './running-domain.js';
import type { VcpuCount, VcpuInfo } from '../shared/api-types.js';

/** Which definitions a change goes to: virsh's --live / --config / --current. */
export interface AffectFlags {
  live?: boolean;
  config?: boolean;
}

/** How long a guest gets to give back a vCPU it is asked to eject (libvirt waits 5 s, then calls it pending). */
const UNPLUG_TIMEOUT_MS = 15_000;

/**
 * vCPUs of a domain: hot-plug and unplug (setvcpus), counts and per-vCPU
 * information (vcpucount, vcpuinfo), and pinning of QEMU's threads to host
 * CPUs (<vcpu cpuset>, <cputune>, vcpupin, emulatorpin) with sched_setaffinity.
 */
export class VcpuControl {
  private affinity_: CpuAffinity | undefined;

  constructor(private readonly host: HostService) {}

  /** Pins a freshly launched QEMU's threads as its definition says (before its vCPUs run). */
  async applyPinning(vm: RunningDomain): Promise<void> {
    const def = vm.def;
    if (placedCpuset(def) === undefined && def.cputune === undefined) return;
    checkHostCpus(def);
    const cpus = await new CpuMonitor(vm.monitor).cpus();
    const vcpuOf = new Map(cpus.map((c) => [c['thread-id'], c['cpu-index']]));
    // <iothreadpin>: each iothread's thread, by query-iothreads (id 'iothread<N>').
    const iothreadOf = new Map<number, number>();
    if (def.cputune?.iothreadpins) {
      const threads = (await vm.monitor.call('query-iothreads')) as Array<{ id: string; 'thread-id': number }>;
      for (const t of threads) {
        const n = /^iothread(\d+)$/.exec(t.id)?.[1];
        if (n !== undefined) iothreadOf.set(t['thread-id'], Number(n));
      }
    }
    for (const tid of processThreads(vm.pid)) {
      const id = vcpuOf.get(tid);
      const io = iothreadOf.get(tid);
      const set = id !== undefined ? vcpuAffinity(def, id) : io !== undefined ? iothreadAffinity(def, io, emulatorAffinity(def)) : emulatorAffinity(def);
      if (set !== undefined) this.setAffinity(tid, set);
    }
  }

  count(ref: string): VcpuCount {
    const rec = this.host.lookup(ref);
    const config = rec.persistentXml === null ? undefined : parseDomainXml(rec.persistentXml);
    const live = rec.liveXml === null ? undefined : parseDomainXml(rec.liveXml);
    return {
      maximumConfig: config?.vcpus ?? null,
      maximumLive: live?.vcpus ?? null,
      currentConfig: config ? currentVcpus(config) : null,
      currentLive: live ? currentVcpus(live) : null,
    };
  }

  /** virsh setvcpus: hot-plugs or unplugs vCPUs (live) and/or sets the persistent count (config, --maximum). */
  async setVcpus(ref: string, count: number, o: AffectFlags & { maximum?: boolean; guest?: boolean }): Promise<void> {
    if (!Number.isInteger(count) || count < 1) throw new FerryError('INVALID_ARGUMENT', `invalid argument: Invalid number of virtual CPUs '${count}'`);
    if (o.guest) {
      throw new FerryError(
        'NOT_SUPPORTED',
        'this function is not supported by the connection driver: setvcpus --guest (ferry does not talk to the guest agent for vCPUs yet)',
        {
          hint: 'Use setvcpus --live to hot-plug or unplug vCPUs through QEMU instead',
        },
      );
    }
    const rec = this.host.lookup(ref);
    const { live, config } = this.affect(rec, o);
    if (o.maximum && live) {
      throw new FerryError('INVALID_ARGUMENT', 'invalid argument: changing the maximum vcpu count of a running domain is not supported', {
        hint: 'Use setvcpus --maximum --config, then restart the domain',
      });
    }
    await this.host.jobs.run(rec.uuid, 'setvcpus', async () => {
      if (config) {
        const def = withVcpuCount(parseDomainXml(rec.persistentXml as string), count, o.maximum ?? false);
        this.host.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(def) });
      }
      if (live) await this.setLiveCount(this.running(rec), count);
    });
  }

  /** virsh vcpuinfo: each online vCPU's host CPU, state, CPU time and affinity. */
  async info(ref: string): Promise<VcpuInfo[]> {
    const rec = this.host.lookup(ref);
    const vm = this.host.runningDomain(rec.uuid);
    const def = vm?.def ?? parseDomainXml((rec.liveXml ?? rec.persistentXml) as string);
    const all = formatCpuset(onlineHostCpus());
    const threads = vm ? await this.vcpuThreads(vm) : new Map<number, number>();
    return vcpuStates(def)
      .filter((s) => s.enabled)
      .map((s) => {
        const tid = threads.get(s.id);
        const stats = vm && tid !== undefined ? threadCpuStats(vm.pid, tid) : undefined;
        const affinity = (vm && tid !== undefined ? threadAffinity(vm.pid, tid) : undefined) ?? vcpuAffinity(def, s.id) ?? all;
        return { vcpu: s.id, cpu: stats?.cpu ?? null, state: vm ? 'running' : null, cpuSeconds: stats?.cpuSeconds ?? null, affinity };
      });
  }

  /** virsh vcpupin without a CPU list: each vCPU's affinity (live: as the kernel has it; config: as defined). */
  async pins(ref: string, o: AffectFlags): Promise<Array<{ vcpu: number; cpuset: string }>> {
    const rec = this.host.lookup(ref);
    const { live } = this.affect(rec, o);
    const all = formatCpuset(onlineHostCpus());
    if (live) {
      const vm = this.running(rec);
      const threads = await this.vcpuThreads(vm);
      return [...threads]
        .sort((a, b) => a[0] - b[0])
        .map(([vcpu, tid]) => ({ vcpu, cpuset: threadAffinity(vm.pid, tid) ?? vcpuAffinity(vm.def, vcpu) ?? all }));
    }
    const def = parseDomainXml(rec.persistentXml as string);
    return Array.from({ length: def.vcpus }, (_, vcpu) => ({ vcpu, cpuset: vcpuAffinity(def, vcpu) ?? all }));
  }

  /** virsh vcpupin VM VCPU CPULIST: pins one vCPU, live and/or in the persistent definition. */
  async pin(ref: string, vcpu: number, cpuset: string, o: AffectFlags): Promise<void> {
    const rec = this.host.lookup(ref);
    const set = formatCpuset(parseCpuset(cpuset, 'vcpupin'));
    const withPin = (def: DomainDefinition): DomainDefinition => {
      if (vcpu >= def.vcpus) throw new FerryError('INVALID_ARGUMENT', `invalid argument: vcpu ${vcpu} is out of range of live cpu count ${def.vcpus}`);
      const pins = (def.cputune?.vcpupins ?? []).filter((p) => p.vcpu !== vcpu);
      pins.push({ vcpu, cpuset: set });
      pins.sort((a, b) => a.vcpu - b.vcpu);
      return { ...def, cputune: { ...def.cputune, vcpupins: pins } };
    };
    await this.repin(rec, 'vcpupin', o, withPin, async (vm) => {
      const tid = (await this.vcpuThreads(vm)).get(vcpu);
      if (tid !== undefined) this.setAffinity(tid, set);
    });
  }

  /** virsh emulatorpin without a CPU list: the emulator threads' affinity. */
  async emulatorPin(ref: string, o: AffectFlags): Promise<string> {
    const rec = this.host.lookup(ref);
    const { live } = this.affect(rec, o);
    const all = formatCpuset(onlineHostCpus());
    if (live) {
      const vm = this.running(rec);
      return threadAffinity(vm.pid, vm.pid) ?? emulatorAffinity(vm.def) ?? all;
    }
    return emulatorAffinity(parseDomainXml(rec.persistentXml as string)) ?? all;
  }

  /** virsh numatune without settings: the memory mode and host nodes (a running domain's placement='auto' advice, --live). */
  numatune(ref: string, o: AffectFlags): { mode: string; nodeset: string } {
    const rec = this.host.lookup(ref);
    const { live } = this.affect(rec, o);
    return numatuneParameters(parseDomainXml((live ? rec.liveXml : rec.persistentXml) as string));
  }

  /** virsh emulatorpin VM CPULIST: pins QEMU's threads other than the vCPUs. */
  async setEmulatorPin(ref: string, cpuset: string, o: AffectFlags): Promise<void> {
    const rec = this.host.lookup(ref);
    const set = formatCpuset(parseCpuset(cpuset, 'emulatorpin'));
    const withPin = (def: DomainDefinition): DomainDefinition => ({
      ...def,
      cputune: { ...def.cputune, vcpupins: def.cputune?.vcpupins ?? [], emulatorpin: set },
    });
    await this.repin(rec, 'emulatorpin', o, withPin, async (vm) => {
      const vcpuTids = new Set((await this.vcpuThreads(vm)).values());
      for (const tid of processThreads(vm.pid)) if (!vcpuTids.has(tid)) this.setAffinity(tid, set);
    });
  }

  /**
   * One pinning change, as a job: the live definition (after `applyLive` moved the threads) and/or the
   * persistent one get `withPin`'s <cputune>, the live one checked against the host's CPUs first.
   */
  private async repin(
    rec: DomainRecord,
    job: SyncJobName,
    o: AffectFlags,
    withPin: (def: DomainDefinition) => DomainDefinition,
    applyLive: (vm: RunningDomain) => Promise<void>,
  ): Promise<void> {
    const { live, config } = this.affect(rec, o);
    await this.host.jobs.run(rec.uuid, job, async () => {
      const persistent = config ? withPin(parseDomainXml(rec.persistentXml as string)) : undefined;
      if (live) {
        const vm = this.running(rec);
        const next = withPin(vm.def);
        checkHostCpus(next);
        await applyLive(vm);
        this.saveLive(vm, next);
      }
      if (persistent) this.host.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(persistent) });
    });
  }

  private async setLiveCount(vm: RunningDomain, count: number): Promise<void> {
    const def = vm.def;
    if (count > def.vcpus) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `invalid argument: requested vcpus is greater than max allowable vcpus for the live domain: ${count} > ${def.vcpus}`,
      );
    }
    const states = vcpuStates(def);
    const current = currentVcpus(def);
    const cpus = new CpuMonitor(vm.monitor);
    if (count > current) {
      const add = states
        .filter((s) => !s.enabled)
        .slice(0, count - current)
        .map((s) => s.id);
      const slots = await cpus.slots();
      for (const id of add) {
        const want = vcpuSlot(def, id);
        const slot = slots.find((x) => Object.entries(want).every(([k, v]) => x.props[k] === v));
        if (!slot || slot['qom-path'] !== undefined) {
          throw new FerryError('VCPU_HOTPLUG_FAILED', `operation failed: QEMU has no free CPU slot for vcpu ${id} (${JSON.stringify(want)})`);
        }
        try {
          await cpus.add(slot.type, `vcpu${id}`, slot.props);
        } catch (err) {
          throw new FerryError('VCPU_HOTPLUG_FAILED', `operation failed: QEMU did not add vcpu ${id}: ${(err as Error).message}`, { cause: err });
        }
        const next = withVcpusOnline(vm.def, [id], true);
        this.saveLive(vm, next);
        const set = vcpuAffinity(next, id);
        const tid = set === undefined ? undefined : (await this.vcpuThreads(vm)).get(id);
        if (set !== undefined && tid !== undefined) this.setAffinity(tid, set);
      }
      // The new vCPU threads started in the emulator's cgroup: each gets its vcpuN (bandwidth, <vcpusched>).
      await this.host.cgroups.apply(vm);
    } else if (count < current) {
      const removable = states.filter((s) => s.enabled && s.hotpluggable).sort((a, b) => (b.order ?? 0) - (a.order ?? 0) || b.id - a.id);
      if (removable.length < current - count) {
        const fixed = states.filter((s) => !s.hotpluggable).length;
        throw new FerryError(
          'VCPU_HOTPLUG_FAILED',
          `operation failed: only hot-plugged vcpus can be unplugged; ${fixed} vcpus were booted with the machine and the domain cannot go below ${fixed}`,
        );
      }
      for (const s of removable.slice(0, current - count)) {
        let gone: boolean;
        try {
          gone = await cpus.remove(`vcpu${s.id}`, UNPLUG_TIMEOUT_MS);
        } catch (err) {
          throw new FerryError('VCPU_HOTPLUG_FAILED', `operation failed: QEMU did not unplug vcpu ${s.id}: ${(err as Error).message}`, { cause: err });
        }
        if (!gone) {
          this.followLateUnplug(vm, s.id);
          throw new FerryError(
            'VCPU_HOTPLUG_FAILED',
            `operation failed: the guest did not release vcpu ${s.id} within ${UNPLUG_TIMEOUT_MS / 1000} s; the unplug stays requested, and the live definition follows if the guest releases it later`,
            {
              hint: 'The guest must support ACPI CPU hot-unplug and not be busy; check the guest, or lower the count with --config and restart',
            },
          );
        }
        this.saveLive(vm, withVcpusOnline(vm.def, [s.id], false));
      }
    }
  }

  /**
   * A guest that ejects the vCPU after setvcpus gave up waiting: the live definition follows QEMU, on its
   * DEVICE_DELETED or, should that be missed, on query-cpus-fast no longer listing the vCPU (checked each second
   * for up to 10 minutes).
   */
  private followLateUnplug(vm: RunningDomain, id: number): void {
    let done = false;
    const settle = (): void => {
      if (done) return;
      done = true;
      stop();
      clearInterval(poll);
      if (this.host.runningDomain(vm.uuid) === vm) this.saveLive(vm, withVcpusOnline(vm.def, [id], false));
    };
    const stop = vm.monitor.onEvent((e) => {
      if (e.event === 'DEVICE_DELETED' && (e.data as { device?: string } | undefined)?.device === `vcpu${id}`) settle();
    });
    const started = Date.now();
    const poll = setInterval(() => {
      if (this.host.runningDomain(vm.uuid) !== vm || Date.now() - started > 600_000) {
        done = true;
        stop();
        clearInterval(poll);
        return;
      }
      new CpuMonitor(vm.monitor).cpus().then(
        (cpus) => {
          if (!cpus.some((c) => c['qom-path'] === `/machine/peripheral/vcpu${id}`)) settle();
        },
        () => undefined,
      );
    }, 1000);
    poll.unref();
  }

  private saveLive(vm: RunningDomain, next: DomainDefinition): void {
    vm.updateDefinition(next);
    this.host.store.setLiveXml(vm.uuid, renderLiveXml(next));
  }

  /** vCPU id → its QEMU thread (query-cpus-fast's cpu-index is libvirt's vCPU id on x86). */
  private async vcpuThreads(vm: RunningDomain): Promise<Map<number, number>> {
    const cpus = await new CpuMonitor(vm.monitor).cpus();
    return new Map(cpus.map((c) => [c['cpu-index'], c['thread-id']]));
  }

  private setAffinity(tid: number, cpuset: string): void {
    this.affinity_ ??= new CpuAffinity();
    try {
      this.affinity_.set(tid, parseCpuset(cpuset, 'cpuset'));
    } catch (err) {
      throw new FerryError('CPU_AFFINITY_FAILED', `cannot set CPU affinity of thread ${tid} to ${cpuset}: ${(err as Error).message}`, { cause: err });
    }
  }

  private affect(rec: DomainRecord, o: AffectFlags): { live: boolean; config: boolean } {
    const running = rec.liveXml !== null;
    const live = o.live ?? false;
    const config = o.config ?? false;
    const result = live || config ? { live, config } : { live: running, config: !running };
    if (result.live && !running) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    if (result.config && rec.persistentXml === null) {
      throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: transient domains do not have any persistent config');
    }
    return result;
  }

  private running(rec: DomainRecord): RunningDomain {
    const vm = this.host.runningDomain(rec.uuid);
    if (!vm) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    return vm;
  }
}

/** Refuses pins naming host CPUs this host does not have (libvirt's cgroup would refuse them at start). */
function checkHostCpus(def: DomainDefinition): void {
  const online = new Set(onlineHostCpus());
  const sets = [
    placedCpuset(def),
    def.cputune?.emulatorpin,
    ...(def.cputune?.vcpupins.map((p) => p.cpuset) ?? []),
    ...(def.cputune?.iothreadpins?.map((p) => p.cpuset) ?? []),
  ].filter((s): s is string => s !== undefined);
  for (const set of sets) {
    const missing = parseCpuset(set, 'cpuset').filter((c) => !online.has(c));
    if (missing.length > 0) {
      throw new FerryError(
        'CPU_AFFINITY_FAILED',
        `cpuset '${set}' names host CPUs this host does not have (${formatCpuset(missing)}; online: ${formatCpuset([...online])})`,
      );
    }
  }
}
