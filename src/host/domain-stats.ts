import { readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { CpuMonitor } from '../qemu/cpu-monitor.js';
import { StatsMonitor } from '../qemu/stats-monitor.js';
import { isActiveState } from '../shared/domain-state.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { currentVcpus, vcpuStates } from '../vm/vcpus.js';
import type { HostService } from './host-service.js';
import { InterfaceService } from './interface-service.js';
import { memoryStats } from './memory-balloon.js';
import type { RunningDomain } from './running-domain.js';
import { libvirtReason, libvirtState } from './domain-stats-params.js';
import type { BlockCounters, DomainSummary, InterfaceStats } from '../shared/api-types.js';

/** virsh domstats' groups (libvirt's VIR_DOMAIN_STATS_*), in libvirt's order. */
export const STATS_GROUPS = ['state', 'cpu-total', 'balloon', 'vcpu', 'interface', 'block'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

export interface NetCounters {
  name: string;
  /** Absent for an interface with no host device to count on (user networking): libvirt gives the name alone. */
  counters?: InterfaceStats;
}

/** One domain's statistics, by group (each present when asked for and available). */
export interface DomainStats {
  name: string;
  uuid: string;
  state?: { state: number; reason: number };
  /** CPU time of QEMU's process, in ns. */
  cpu?: { time: number; user: number; system: number };
  /** KiB, and the guest's own statistics under virsh's dommemstat tags. */
  balloon?: { current: number; maximum: number; guest: Array<{ tag: string; value: number }> };
  vcpu?: { current: number; maximum: number; vcpus: Array<{ id: number; state: number; time?: number; wait?: number }> };
  net?: NetCounters[];
  block?: BlockCounters[];
}

const TICK_NS = 1e9 / 100;

/** utime and stime of a process or one of its threads, in ns (/proc/…/stat, clock ticks of 10 ms). */
function cpuTimes(statPath: string): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) * TICK_NS, system: Number(f[12]) * TICK_NS };
  } catch {
    return undefined;
  }
}

/** A thread's run time and run-queue wait, in ns (/proc/PID/task/TID/schedstat). */
function schedstat(pid: number, tid: number): { run: number; wait: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return run === undefined || wait === undefined ? undefined : { run, wait };
  } catch {
    return undefined;
  }
}

/**
 * The statistics of domains, read when asked (virsh domstats, domblkstat,
 * and each /metrics scrape): counters come from QEMU (query-blockstats, the
 * balloon), from /proc for CPU time and from the tap devices' counters.
 */
export class DomainStatsReader {
  private readonly interfaces: InterfaceService;

  constructor(private readonly host: HostService) {
    this.interfaces = new InterfaceService({ host });
  }

  /** The domains virsh domstats lists: all, or those named (each must exist). */
  domains(refs: string[]): DomainSummary[] {
    if (refs.length === 0) return this.host.list({ all: true });
    return refs.map((ref) => {
      const rec = this.host.lookup(ref);
      return {
        uuid: rec.uuid,
        name: rec.name,
        domainId: rec.domainId,
        state: rec.state,
        reason: rec.reason,
        persistent: rec.persistentXml !== null,
        autostart: rec.autostart,
      };
    });
  }

  async collect(d: DomainSummary, groups: readonly StatsGroup[]): Promise<DomainStats> {
    const out: DomainStats = { name: d.name, uuid: d.uuid };
    const want = new Set(groups);
    if (want.has('state')) out.state = { state: libvirtState(d.state), reason: libvirtReason(d.state, d.reason) };
    const vm = isActiveState(d.state) ? this.host.runningDomain(d.uuid) : undefined;
    if (!vm) {
      // libvirt gives a shut-off domain its state and, for balloon and vcpu, what its definition says.
      if (want.has('balloon') || want.has('vcpu')) {
        const rec = this.host.lookup(d.uuid);
        const def = parseDomainXml((rec.liveXml ?? rec.persistentXml) as string);
        if (want.has('balloon')) out.balloon = { current: def.currentMemoryKiB, maximum: def.memoryKiB, guest: [] };
        if (want.has('vcpu')) out.vcpu = { current: currentVcpus(def), maximum: def.vcpus, vcpus: [] };
      }
      return out;
    }
    if (want.has('cpu-total')) {
      const t = cpuTimes(`/proc/${vm.pid}/stat`);
      if (t) out.cpu = { time: t.user + t.system, user: t.user, system: t.system };
    }
    // Each group alone: a guest that does not answer one (a balloon without a driver) leaves the others standing.
    if (want.has('balloon')) out.balloon = await this.balloon(vm).catch(() => undefined);
    if (want.has('vcpu')) out.vcpu = await this.vcpus(vm).catch(() => undefined);
    if (want.has('interface')) out.net = this.net(vm);
    if (want.has('block')) out.block = await this.block(vm).catch(() => undefined);
    for (const k of Object.keys(out) as Array<keyof DomainStats>) if (out[k] === undefined) delete out[k];
    return out;
  }

  /** domblkstat: one disk's counters (by target or source path), or the sum over all disks when `device` is empty. */
  async blockStats(ref: string, device: string): Promise<BlockCounters> {
    const rec = this.host.lookup(ref);
    const vm = this.host.runningDomain(rec.uuid);
    if (!vm) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    const disks = await this.block(vm);
    if (device === '') {
      const sum: BlockCounters = { name: '', rd: { reqs: 0, bytes: 0, times: 0 }, wr: { reqs: 0, bytes: 0, times: 0 }, fl: { reqs: 0, times: 0 } };
      for (const b of disks) {
        for (const k of ['rd', 'wr'] as const) for (const f of ['reqs', 'bytes', 'times'] as const) sum[k][f] += b[k][f];
        sum.fl.reqs += b.fl.reqs;
        sum.fl.times += b.fl.times;
      }
      return sum;
    }
    const found = disks.find((b) => b.name === device || (b.path !== undefined && b.path === device));
    if (!found) {
      throw new FerryError('DISK_NOT_FOUND', `invalid argument: invalid path: ${device}`, {
        hint: `The domain's disks: ${disks.map((b) => b.name).join(', ') || 'none'} ("ferry domblklist ${rec.name}")`,
      });
    }
    return found;
  }

  private async balloon(vm: RunningDomain): Promise<DomainStats['balloon']> {
    const stats = await memoryStats(vm);
    const current = stats.find((s) => s.tag === 'actual')?.value ?? vm.def.currentMemoryKiB;
    return { current, maximum: vm.def.memoryKiB, guest: stats.filter((s) => s.tag !== 'actual') };
  }

  private async vcpus(vm: RunningDomain): Promise<DomainStats['vcpu']> {
    const cpus = await new CpuMonitor(vm.monitor).cpus();
    const thread = new Map(cpus.map((c) => [c['cpu-index'], c['thread-id']]));
    const vcpus = vcpuStates(vm.def)
      .filter((s) => s.enabled)
      .map((s) => {
        const tid = thread.get(s.id);
        const t = tid === undefined ? undefined : cpuTimes(`/proc/${vm.pid}/task/${tid}/stat`);
        const sched = tid === undefined ? undefined : schedstat(vm.pid, tid);
        return {
          id: s.id,
          state: tid === undefined ? 0 : 1,
          ...(sched ? { time: sched.run } : t ? { time: t.user + t.system } : {}),
          ...(sched ? { wait: sched.wait } : {}),
        };
      });
    return { current: currentVcpus(vm.def), maximum: vm.def.vcpus, vcpus };
  }

  private net(vm: RunningDomain): NetCounters[] {
    return vm.def.devices.interfaces.map((i) => {
      const name = i.targetDev ?? i.mac;
      try {
        return { name, counters: this.interfaces.stats(vm.uuid, i.targetDev ?? i.mac) };
      } catch {
        return { name };
      }
    });
  }

  private async block(vm: RunningDomain): Promise<BlockCounters[]> {
    const counters = await new StatsMonitor(vm.monitor).disks();
    const out: BlockCounters[] = [];
    for (const disk of vm.def.devices.disks) {
      const c = counters.get(disk.target.dev);
      if (!c) continue;
      const s = c.stats;
      const path = this.host.diskPath(disk);
      out.push({
        name: disk.target.dev,
        ...(path ? { path } : {}),
        rd: { reqs: s.rd_operations, bytes: s.rd_bytes, times: s.rd_total_time_ns },
        wr: { reqs: s.wr_operations, bytes: s.wr_bytes, times: s.wr_total_time_ns },
        fl: { reqs: s.flush_operations, times: s.flush_total_time_ns },
        allocation: s.wr_highest_offset,
        ...(c.capacity !== undefined ? { capacity: c.capacity } : {}),
        ...(c.physical !== undefined ? { physical: c.physical } : {}),
      });
    }
    return out;
  }
}
