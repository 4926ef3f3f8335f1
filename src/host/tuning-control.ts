import { existsSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { cpuBandwidth, cpuShares, type MemoryLimits, memoryLimits } from '../system/cgroups/settings.js';
import type { DomainRecord } from '../store/domain-store.js';
import { PERIOD_MAX, PERIOD_MIN, QUOTA_MAX } from '../vm/cpu-tuning.js';
import type { BlkiotuneDefinition, BlkiotuneDevice, CpuBandwidth, DomainDefinition } from '../vm/definition.js';
import { iothreadIdsOf } from '../vm/iothreads.js';
import type { SyncJobName } from '../vm/jobs.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import type { HostService } from './host-service.js';
import type { RunningDomain } from './running-domain.js';

export interface AffectFlags {
  live?: boolean;
  config?: boolean;
}

/** virsh schedinfo's parameters, in libvirt's order: name, bandwidth group, period or quota. */
const SCHED_FIELDS = [
  ['vcpu_period', 'vcpu', 'period'],
  ['vcpu_quota', 'vcpu', 'quota'],
  ['emulator_period', 'emulator', 'period'],
  ['emulator_quota', 'emulator', 'quota'],
  ['global_period', 'global', 'period'],
  ['global_quota', 'global', 'quota'],
  ['iothread_period', 'iothread', 'period'],
  ['iothread_quota', 'iothread', 'quota'],
] as const;

type Group = (typeof SCHED_FIELDS)[number][1];

/** virsh blkiotune's per-device parameters and the definition's keys. */
const DEVICE_FIELDS = [
  ['device_weight', 'weight'],
  ['device_read_iops_sec', 'readIopsSec'],
  ['device_write_iops_sec', 'writeIopsSec'],
  ['device_read_bytes_sec', 'readBytesSec'],
  ['device_write_bytes_sec', 'writeBytesSec'],
] as const;

export type DeviceField = (typeof DEVICE_FIELDS)[number][0];

/**
 * virsh schedinfo, blkiotune and memtune: the <cputune> CPU weight and bandwidth,
 * the <blkiotune> settings and the <memtune> limits (read only) of a domain, read and changed live (re-applied to
 * its cgroup, created then if it had none) and/or in its persistent definition.
 */
export class TuningControl {
  constructor(private readonly host: HostService) {}

  /** The scheduler parameters: live from the cgroup's files (the kernel's defaults where nothing is set), else from the definition (0: unset). */
  schedinfo(ref: string, o: AffectFlags): Array<[string, string]> {
    const rec = this.host.lookup(ref);
    const { live } = affect(rec, o);
    const out: Array<[string, string]> = [['Scheduler', 'posix']];
    if (live) {
      const vm = running(this.host, rec);
      const cg = this.host.cgroups.cgroupOf(vm.uuid, vm.pid);
      if (cg?.cpuDir && existsSync(cg.cpuFile('vcpu0', ''))) {
        out.push(['cpu_shares', String(cpuShares(cg))]);
        const iothread = iothreadIdsOf(vm.def)[0];
        const children: Record<Group, string | undefined> = {
          vcpu: 'vcpu0',
          emulator: 'emulator',
          global: undefined,
          iothread: iothread === undefined ? '' : `iothread${iothread}`,
        };
        for (const [field, group, key] of SCHED_FIELDS) {
          const child = children[group];
          out.push([field, child === '' ? '0' : String(cpuBandwidth(cg, child)[key])]);
        }
        return out;
      }
      return [...out, ...definitionSched(vm.def)];
    }
    return [...out, ...definitionSched(parseDomainXml(rec.persistentXml as string))];
  }

  /** virsh schedinfo --set name=value ...: validated as libvirt does, applied live and/or saved. */
  async setSchedinfo(ref: string, params: Record<string, number>, o: AffectFlags): Promise<void> {
    for (const [name, value] of Object.entries(params)) checkSchedParam(name, value);
    const change = (def: DomainDefinition): DomainDefinition => {
      const t = { ...(def.cputune ?? { vcpupins: [] }) };
      const bw: Partial<Record<Group, CpuBandwidth>> = { ...t.bandwidth };
      if (params.cpu_shares !== undefined) t.shares = params.cpu_shares;
      for (const [field, group, key] of SCHED_FIELDS) {
        const v = params[field];
        if (v === undefined) continue;
        const next: CpuBandwidth = { ...bw[group] };
        if (v === 0) delete next[key];
        else next[key] = v;
        if (next.period === undefined && next.quota === undefined) delete bw[group];
        else bw[group] = next;
      }
      if (Object.keys(bw).length > 0) t.bandwidth = bw;
      else delete t.bandwidth;
      return { ...def, cputune: t };
    };
    await this.change(ref, 'schedinfo', o, change);
  }

  /** The <blkiotune> settings as virsh blkiotune lists them (devices as path,value,... ; weight 0: unset). */
  blkiotune(ref: string, o: AffectFlags): Array<[string, string]> {
    const rec = this.host.lookup(ref);
    const { live } = affect(rec, o);
    const def = live ? running(this.host, rec).def : parseDomainXml(rec.persistentXml as string);
    const b = def.blkiotune;
    const out: Array<[string, string]> = [['weight', String(b?.weight ?? 0)]];
    for (const [field, key] of DEVICE_FIELDS) {
      out.push([
        field,
        (b?.devices ?? [])
          .filter((d) => d[key] !== undefined)
          .map((d) => `${d.path},${d[key]}`)
          .join(','),
      ]);
    }
    return out;
  }

  /** The <memtune> limits as virsh memtune lists them: KiB, or 'unlimited'; live from the memory cgroup's files when the domain has one. */
  memtune(ref: string, o: AffectFlags): Array<[string, string]> {
    const rec = this.host.lookup(ref);
    const { live } = affect(rec, o);
    let m: MemoryLimits | undefined;
    if (live) {
      const vm = running(this.host, rec);
      const cg = this.host.cgroups.cgroupOf(vm.uuid, vm.pid);
      m = vm.def.memtune && cg?.memDir && existsSync(cg.memDir) ? memoryLimits(cg) : vm.def.memtune;
    } else m = parseDomainXml(rec.persistentXml as string).memtune;
    const show = (kib: number | undefined): string => (kib === undefined ? 'unlimited' : String(kib));
    return [
      ['hard_limit', show(m?.hardLimitKiB)],
      ['soft_limit', show(m?.softLimitKiB)],
      ['swap_hard_limit', show(m?.swapHardLimitKiB)],
    ];
  }

  /** virsh blkiotune --weight / --device-*: per device path, a value replaces the old one, 0 removes it. */
  async setBlkiotune(ref: string, weight: number | undefined, devices: Partial<Record<DeviceField, string>>, o: AffectFlags): Promise<void> {
    const parsed = Object.entries(devices).map(([field, text]) => [field, parseDeviceList(field, text as string)] as const);
    const change = (def: DomainDefinition): DomainDefinition => {
      const b: BlkiotuneDefinition = { ...(def.blkiotune ?? {}), devices: (def.blkiotune?.devices ?? []).map((d) => ({ ...d })) };
      if (weight !== undefined) {
        if (weight === 0) delete b.weight;
        else b.weight = weight;
      }
      for (const [field, list] of parsed) {
        const key = DEVICE_FIELDS.find(([f]) => f === field)?.[1] as keyof Omit<BlkiotuneDevice, 'path'>;
        for (const { path, value } of list) {
          let d = b.devices.find((x) => x.path === path);
          if (!d) b.devices.push((d = { path }));
          if (value === 0) delete d[key];
          else d[key] = value;
        }
      }
      b.devices = b.devices.filter((d) => Object.keys(d).length > 1);
      const next: DomainDefinition = { ...def, blkiotune: b };
      if (b.weight === undefined && b.devices.length === 0) delete next.blkiotune;
      return next;
    };
    await this.change(ref, 'blkiotune', o, change);
  }

  /** One change, as a job: the live domain gets it applied to its cgroup first (a refusal changes nothing), then saved. */
  private async change(ref: string, job: SyncJobName, o: AffectFlags, change: (def: DomainDefinition) => DomainDefinition): Promise<void> {
    const rec = this.host.lookup(ref);
    const { live, config } = affect(rec, o);
    await this.host.jobs.run(rec.uuid, job, async () => {
      const persistent = config ? change(parseDomainXml(rec.persistentXml as string)) : undefined;
      if (live) {
        const vm = running(this.host, rec);
        const next = change(vm.def);
        await this.host.cgroups.apply(vm, next);
        vm.updateDefinition(next);
        this.host.store.setLiveXml(vm.uuid, renderLiveXml(next));
      }
      if (persistent) this.host.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(persistent) });
    });
  }
}

function definitionSched(def: DomainDefinition): Array<[string, string]> {
  const t = def.cputune;
  return [
    ['cpu_shares', String(t?.shares ?? 0)],
    ...SCHED_FIELDS.map(([field, group, key]): [string, string] => [field, String(t?.bandwidth?.[group]?.[key] ?? 0)]),
  ];
}

function checkSchedParam(name: string, value: number): void {
  const bad = (range: string): FerryError => new FerryError('CGROUP_VALUE_INVALID', `invalid argument: value of '${name}' is out of range ${range}`);
  if (!Number.isSafeInteger(value)) throw bad('(an integer)');
  if (name === 'cpu_shares') {
    if (value < 0 || value > 262144) throw bad('[0, 262144]');
    return;
  }
  const field = SCHED_FIELDS.find(([f]) => f === name);
  if (!field)
    throw new FerryError('INVALID_ARGUMENT', `invalid argument: invalid scheduler option: ${name}`, {
      hint: `Use ${['cpu_shares', ...SCHED_FIELDS.map(([f]) => f)].join(', ')}`,
    });
  if (field[2] === 'period' && value !== 0 && (value < PERIOD_MIN || value > PERIOD_MAX)) throw bad(`[${PERIOD_MIN}, ${PERIOD_MAX}]`);
  if (field[2] === 'quota' && value > 0 && (value < PERIOD_MIN || value > QUOTA_MAX)) throw bad(`[${PERIOD_MIN}, ${QUOTA_MAX}]`);
}

/** "/dev/sda,400,/dev/sdb,900" as virsh takes it. */
function parseDeviceList(field: string, text: string): Array<{ path: string; value: number }> {
  const parts = text.split(',');
  if (parts.length % 2 !== 0 || parts.length === 0)
    throw new FerryError('INVALID_ARGUMENT', `invalid argument: unable to parse blkio device '${field}' '${text}'`, {
      hint: 'Write PATH,VALUE[,PATH,VALUE...], such as /dev/sda,1000',
    });
  const out: Array<{ path: string; value: number }> = [];
  for (let i = 0; i < parts.length; i += 2) {
    const value = Number(parts[i + 1]);
    if (!/^\d+$/.test(parts[i + 1] ?? '') || !Number.isSafeInteger(value))
      throw new FerryError('INVALID_ARGUMENT', `invalid argument: unable to parse blkio device '${field}' '${text}'`);
    out.push({ path: parts[i] as string, value });
  }
  return out;
}

function affect(rec: DomainRecord, o: AffectFlags): { live: boolean; config: boolean } {
  const runningNow = rec.liveXml !== null;
  const live = o.live ?? false;
  const config = o.config ?? false;
  const result = live || config ? { live, config } : { live: runningNow, config: !runningNow };
  if (result.live && !runningNow) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
  if (result.config && rec.persistentXml === null)
    throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: transient domains do not have any persistent config');
  return result;
}

function running(host: HostService, rec: DomainRecord): RunningDomain {
  const vm = host.runningDomain(rec.uuid);
  if (!vm) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
  return vm;
}
