import { readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { BalloonMonitor } from '../qemu/balloon-monitor.js';
import type { DomainStore } from '../store/domain-store.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import type { RunningDomain } from './running-domain.js';
import type { MemoryStat } from '../shared/api-types.js';

/** virsh's tags after `actual`, in the order libvirt reports them, with QEMU's stat and its unit (bytes → KiB). */
const GUEST_STATS: ReadonlyArray<[tag: string, qemu: string, divisor: number]> = [
  ['swap_in', 'stat-swap-in', 1024],
  ['swap_out', 'stat-swap-out', 1024],
  ['major_fault', 'stat-major-faults', 1],
  ['minor_fault', 'stat-minor-faults', 1],
  ['unused', 'stat-free-memory', 1024],
  ['available', 'stat-total-memory', 1024],
  ['usable', 'stat-available-memory', 1024],
  ['last_update', 'last-update', 1],
  ['disk_caches', 'stat-disk-caches', 1024],
  ['hugetlb_pgalloc', 'stat-htlb-pgalloc', 1],
  ['hugetlb_pgfail', 'stat-htlb-pgfail', 1],
];

/** Where a change applies, as virsh's --live / --config / --current say it. */
export interface ChangeScope {
  live: boolean;
  config: boolean;
}

function hasBalloon(def: DomainDefinition): boolean {
  return def.devices.memballoon?.model === 'virtio';
}

/**
 * After QEMU starts (and on a migration's destination, where QEMU starts for
 * the incoming state): the stats period is a property of the running balloon,
 * not part of the migrated state, so it is set on every QEMU, as libvirt does.
 */
export async function applyBalloonSettings(vm: RunningDomain): Promise<void> {
  const period = vm.def.devices.memballoon?.statsPeriod;
  if (!hasBalloon(vm.def) || !period) return;
  await new BalloonMonitor(vm.monitor).setStatsPeriod(period);
}

/** `dommemstat`: the balloon's size, the guest's statistics it reported, and QEMU's resident memory. */
export async function memoryStats(vm: RunningDomain): Promise<MemoryStat[]> {
  const out: MemoryStat[] = [];
  if (hasBalloon(vm.def)) {
    const balloon = new BalloonMonitor(vm.monitor);
    out.push({ tag: 'actual', value: Math.floor((await balloon.actualBytes()) / 1024) });
    const g = await balloon.guestStats();
    for (const [tag, name, divisor] of GUEST_STATS) {
      const raw = name === 'last-update' ? g['last-update'] : g.stats[name];
      // QEMU reports a stat the guest did not give as -1 (as a uint64: 2^64-1); virsh leaves those out.
      if (typeof raw === 'number' && raw >= 0 && raw < 2 ** 63) out.push({ tag, value: Math.floor(raw / divisor) });
    }
  } else {
    out.push({ tag: 'actual', value: vm.def.currentMemoryKiB });
  }
  const rss = residentKiB(vm.pid);
  if (rss !== undefined) out.push({ tag: 'rss', value: rss });
  return out;
}

function residentKiB(pid: number): number | undefined {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(pages) ? pages * 4 : undefined;
  } catch {
    return undefined;
  }
}

/** The pieces memory changes need from the host: the store, and the running QEMU if there is one. */
export interface BalloonHost {
  store: DomainStore;
  runningDomain(uuid: string): RunningDomain | undefined;
}

/** Applies `change` to the live definition (and QEMU, through `applyLive`) and/or the persistent one. */
async function changeDefinition(
  host: BalloonHost,
  uuid: string,
  scope: ChangeScope,
  change: (def: DomainDefinition) => DomainDefinition,
  applyLive: (vm: RunningDomain, def: DomainDefinition) => Promise<void>,
): Promise<void> {
  const rec = host.store.get(uuid);
  if (!rec) throw new FerryError('DOMAIN_NOT_FOUND', `failed to get domain '${uuid}'`);
  const vm = host.runningDomain(uuid);
  if (scope.live && !vm) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
  if (scope.config && rec.persistentXml === null) {
    throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot change persistent config of a transient domain', {
      hint: 'Leave out --config, or define the domain first ("ferry dumpxml VM > vm.xml && ferry define vm.xml")',
    });
  }
  const persistent = scope.config ? change(parseDomainXml(rec.persistentXml as string)) : undefined;
  if (scope.live && vm) {
    const live = change(vm.def);
    await applyLive(vm, live);
    vm.updateDefinition(live);
    host.store.setLiveXml(uuid, renderLiveXml(live));
  }
  if (persistent) host.store.saveDefinition({ uuid, name: rec.name, persistentXml: renderDomainXml(persistent) });
}

/** `dommemstat --period N`: how often the guest reports its statistics (0: never). */
export async function setStatsPeriod(host: BalloonHost, uuid: string, period: number, scope: ChangeScope): Promise<void> {
  const change = (def: DomainDefinition): DomainDefinition => {
    const b = def.devices.memballoon;
    if (b?.model !== 'virtio') {
      throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: No memory balloon device configured, can not set the collection period', {
        hint: "The domain has <memballoon model='none'>",
      });
    }
    return { ...def, devices: { ...def.devices, memballoon: { ...b, statsPeriod: period } } };
  };
  await changeDefinition(host, uuid, scope, change, (vm) => new BalloonMonitor(vm.monitor).setStatsPeriod(period));
}

/** `setmem`: the guest's current memory, through the balloon when it runs. */
export async function setMemory(host: BalloonHost, uuid: string, kib: number, scope: ChangeScope): Promise<void> {
  const change = (def: DomainDefinition): DomainDefinition => {
    if (kib > def.memoryKiB) {
      throw new FerryError('INVALID_ARGUMENT', 'invalid argument: cannot set memory higher than max memory', {
        hint: `The domain's <memory> is ${def.memoryKiB} KiB`,
      });
    }
    return { ...def, currentMemoryKiB: kib };
  };
  await changeDefinition(host, uuid, scope, change, async (vm) => {
    if (!hasBalloon(vm.def)) {
      throw new FerryError(
        'OPERATION_INVALID',
        'Requested operation is not valid: Unable to change memory of active domain without the balloon device and guest OS balloon driver',
        {
          hint: "The domain has <memballoon model='none'>: change its memory with --config and restart it",
        },
      );
    }
    await new BalloonMonitor(vm.monitor).setTarget(kib * 1024);
  });
}
