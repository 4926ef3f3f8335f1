import { readFileSync, statSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { CpuMonitor } from '../qemu/cpu-monitor.js';
import { DomainCgroup, removeStaleDomainCgroups } from '../system/cgroups/domain-cgroup.js';
import { type CgroupLayout, detectCgroupLayout } from '../system/cgroups/layout.js';
import { setCpuBandwidth, setCpuShares, setIoDeviceWeight, setIoThrottle, setIoWeight, setMemoryLimits } from '../system/cgroups/settings.js';
import { ThreadScheduler } from '../system/thread-scheduler.js';
import { parseCpuset } from '../vm/cpuset.js';
import type { DomainDefinition, ThreadScheduler as SchedSetting } from '../vm/definition.js';
import { iothreadIdsOf } from '../vm/iothreads.js';
import type { RunningDomain } from './running-domain.js';

/** The cgroup of a domain's QEMU: one per QEMU process (a migration's two ends on one host never share it). */
export function domainCgroupName(uuid: string, pid: number): string {
  return `qemu-${pid}-${uuid}`;
}

/** Whether a definition asks for settings that live in a cgroup (<shares>, bandwidth, <blkiotune>, <memtune>). */
export function needsCgroup(def: DomainDefinition): boolean {
  return def.cputune?.shares !== undefined || def.cputune?.bandwidth !== undefined || def.blkiotune !== undefined || def.memtune !== undefined;
}

/** A host block device's "MAJ:MIN", as the blkio/io files name it; libvirt's rule: <device><path> must be a block device. */
export function blockDeviceNumber(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new FerryError('CGROUP_VALUE_INVALID', `invalid argument: <blkiotune> device '${path}': ${(err as Error).message}`, { cause: err });
  }
  if (!st.isBlockDevice()) throw new FerryError('CGROUP_VALUE_INVALID', `invalid argument: Path '${path}' must be a block device (<blkiotune><device><path>)`);
  const rdev = st.rdev;
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return `${major}:${minor}`;
}

/**
 * Applies <cputune>'s cgroup and scheduler settings, <blkiotune> and <memtune> to a
 * freshly launched (still paused) QEMU, as libvirt does at start: the domain
 * gets its own cgroup (children emulator, vcpuN, iothreadN), its threads are
 * placed, then the limits are written. Runs again on a migration's
 * destination, from the definition, whatever that host's cgroup layout.
 */
export class CgroupTuning {
  constructor(
    private readonly layout: () => CgroupLayout | undefined = () => detectCgroupLayout(),
    private readonly procCgroup: (pid: number) => string = (pid) => readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
  ) {}

  /** Applies `def` (default: the domain's own) to a running QEMU; again and again is fine (a live change re-applies all). */
  async apply(vm: RunningDomain, def: DomainDefinition = vm.def): Promise<void> {
    const t = def.cputune;
    const scheds = t?.vcpuscheds !== undefined || t?.iothreadscheds !== undefined || t?.emulatorsched !== undefined;
    if (!needsCgroup(def) && !scheds) return;
    const vcpus = new Map((await new CpuMonitor(vm.monitor).cpus()).map((c) => [c['cpu-index'], c['thread-id']]));
    const iothreads = new Map<number, number>();
    if (iothreadIdsOf(def).length > 0) {
      for (const x of (await vm.monitor.call('query-iothreads')) as Array<{ id: string; 'thread-id': number }>) {
        const n = /^iothread(\d+)$/.exec(x.id)?.[1];
        if (n !== undefined) iothreads.set(Number(n), x['thread-id']);
      }
    }
    if (needsCgroup(def)) this.place(def, vm.pid, vcpus, iothreads, vm.def);
    if (scheds) applySchedulers(def, vm.pid, vcpus, iothreads);
  }

  /** The domain's cgroup on this host, if it has cgroups. */
  cgroupOf(uuid: string, pid: number): DomainCgroup | undefined {
    const layout = this.layout();
    return layout && domainCgroup(layout, uuid, pid, this.procCgroup);
  }

  /** Removes a stopped domain's cgroup (nothing to do when it had none); exiting threads may hold it a moment (EBUSY): retried for 2 s. */
  async remove(uuid: string, pid: number): Promise<void> {
    const cg = this.cgroupOf(uuid, pid);
    for (let attempt = 0; ; attempt++) {
      try {
        cg?.remove();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** At ferryd's start: the cgroups of QEMUs that died while no ferryd followed them. */
  removeStale(): string[] {
    const layout = this.layout();
    return layout ? removeStaleDomainCgroups(layout) : [];
  }

  /** `before`: the definition applied so far (a live change): throttles of devices no longer listed are cleared. */
  private place(def: DomainDefinition, pid: number, vcpus: Map<number, number>, iothreads: Map<number, number>, before: DomainDefinition): void {
    const layout = this.layout();
    if (!layout)
      throw new FerryError(
        'CGROUP_UNAVAILABLE',
        'this host has no cgroup hierarchy mounted; <cputune> shares/period/quota, <blkiotune> and <memtune> need one',
      );
    const t = def.cputune;
    const b = def.blkiotune;
    // Device numbers first: a wrong path fails before anything is created.
    const devices = (b?.devices ?? []).map((d) => ({ ...d, number: blockDeviceNumber(d.path) }));
    const cg = domainCgroup(layout, def.uuid, pid, this.procCgroup);
    const children = ['emulator', ...[...vcpus.keys()].map((id) => `vcpu${id}`), ...[...iothreads.keys()].map((id) => `iothread${id}`)];
    const cpu = t?.shares !== undefined || t?.bandwidth !== undefined;
    const parts = { cpu, io: b !== undefined, memory: def.memtune !== undefined };
    cg.create(cpu ? children : [], parts);
    cg.addProcess(pid, parts);
    if (cpu) {
      for (const [id, tid] of vcpus) cg.addThread(`vcpu${id}`, tid);
      for (const [id, tid] of iothreads) cg.addThread(`iothread${id}`, tid);
      if (t?.shares !== undefined) setCpuShares(cg, t.shares);
      const bw = t?.bandwidth ?? {};
      if (bw.global) setCpuBandwidth(cg, undefined, bw.global);
      if (bw.emulator) setCpuBandwidth(cg, 'emulator', bw.emulator);
      for (const id of vcpus.keys()) if (bw.vcpu) setCpuBandwidth(cg, `vcpu${id}`, bw.vcpu);
      for (const id of iothreads.keys()) if (bw.iothread) setCpuBandwidth(cg, `iothread${id}`, bw.iothread);
    }
    if (b?.weight !== undefined) setIoWeight(cg, b.weight);
    for (const d of devices) {
      if (d.weight !== undefined) setIoDeviceWeight(cg, d.number, d.weight);
      setIoThrottle(cg, d.number, d);
    }
    if (def.memtune) setMemoryLimits(cg, def.memtune);
    const gone = (before.blkiotune?.devices ?? []).filter((d) => !devices.some((x) => x.path === d.path));
    for (const d of gone) setIoThrottle(cg, blockDeviceNumber(d.path), {});
  }
}

/**
 * A QEMU's domain cgroup: under systemd, inside the VM's machine.slice scope (the scope is the domain's, as
 * libvirt's; MachineScopes put QEMU there before it ran); else ferry's own directory, named by pid and uuid.
 */
function domainCgroup(layout: CgroupLayout, uuid: string, pid: number, procCgroup: (pid: number) => string): DomainCgroup {
  let text = '';
  try {
    text = procCgroup(pid);
  } catch {
    // gone: the name-based directory is what remove() looks for
  }
  return DomainCgroup.inScope(layout, text) ?? DomainCgroup.at(layout, domainCgroupName(uuid, pid));
}

function applySchedulers(def: DomainDefinition, pid: number, vcpus: Map<number, number>, iothreads: Map<number, number>): void {
  const sched = new ThreadScheduler();
  const set = (tid: number | undefined, s: SchedSetting, what: string): void => {
    if (tid === undefined) return;
    if (s.policy === 'fifo' || s.policy === 'rr') {
      const [min, max] = sched.priorityRange(s.policy);
      const p = s.priority ?? 0;
      if (p < min || p > max)
        throw new FerryError('THREAD_SCHEDULER_FAILED', `invalid argument: Scheduler priority ${p} out of range [${min}, ${max}] (${what})`);
    }
    try {
      sched.set(tid, s.policy, s.priority ?? 0);
    } catch (err) {
      throw new FerryError('THREAD_SCHEDULER_FAILED', `cannot set scheduler '${s.policy}' on ${what} (thread ${tid}): ${(err as Error).message}`, {
        cause: err,
        hint:
          s.policy === 'fifo' || s.policy === 'rr'
            ? 'Real-time policies inside a cpu cgroup need cpu.rt_runtime_us there (CONFIG_RT_GROUP_SCHED); ferryd must run as root'
            : undefined,
      });
    }
  };
  const t = def.cputune;
  for (const s of t?.vcpuscheds ?? []) for (const id of parseCpuset(s.ids, 'vcpusched')) set(vcpus.get(id), s, `vcpu ${id}`);
  for (const s of t?.iothreadscheds ?? []) for (const id of parseCpuset(s.ids, 'iothreadsched')) set(iothreads.get(id), s, `iothread ${id}`);
  if (t?.emulatorsched) set(pid, t.emulatorsched, 'the emulator');
}
