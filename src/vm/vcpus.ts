import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import type { CputuneDefinition, DomainDefinition, VcpuState } from './definition.js';
import { canonicalCpuset } from './cpuset.js';
import { nonNegativeInt, positiveInt, yesNo } from './xml-values.js';
import { xmlInvalid } from './xml-errors.js';
import { IOTHREADPIN_RULE, parseIothreadPins } from './iothreads.js';
import { CPU_TUNING_RULES, parseCpuBandwidth, renderCpuBandwidth, renderThreadSchedulers } from './cpu-tuning.js';

/** What ferry applies of <vcpu>, <vcpus> and <cputune> (pins here; shares, bandwidth and schedulers in src/vm/cpu-tuning.ts). */
export const VCPU_RULES = {
  vcpu: { attrs: { placement: ['static', 'auto'], current: true, cpuset: true } },
  vcpus: { children: { vcpu: { attrs: { id: true, enabled: ['yes', 'no'], hotpluggable: ['yes', 'no'], order: true } } } },
  cputune: {
    children: {
      vcpupin: { attrs: { vcpu: true, cpuset: true } },
      emulatorpin: { attrs: { cpuset: true } },
      iothreadpin: IOTHREADPIN_RULE,
      ...CPU_TUNING_RULES,
    },
  },
} as const;

type VcpuFields = Pick<DomainDefinition, 'vcpus' | 'vcpuCurrent' | 'vcpuCpuset' | 'vcpuList' | 'cputune' | 'vcpuPlacement' | 'numaAdvice'>;

/** Reads <vcpu>, <vcpus> and <cputune> of a <domain>. */
export function parseVcpus(root: XmlElement): VcpuFields {
  const vcpuEl = child(root, 'vcpu');
  const max = vcpuEl ? positiveInt(vcpuEl.text, 'vcpu') : 1;
  const out: VcpuFields = { vcpus: max };
  const current = vcpuEl?.attrs.current;
  if (current !== undefined) {
    const n = positiveInt(current, 'vcpu');
    if (n > max) throw xmlInvalid('vcpu', `maxvcpus must not be less than current vcpus (${max} < ${n})`);
    if (n < max) out.vcpuCurrent = n;
  }
  const placement = vcpuEl?.attrs.placement;
  if (placement !== undefined && placement !== 'static' && placement !== 'auto') throw xmlInvalid('vcpu', `unsupported CPU placement mode '${placement}'`);
  if (placement === 'auto') {
    out.vcpuPlacement = 'auto';
    // Beside placement='auto', cpuset is the advice a running domain was given (its live XML); libvirt ignores it in a definition.
    if (vcpuEl?.attrs.cpuset !== undefined) out.numaAdvice = { cpuset: canonicalCpuset(vcpuEl.attrs.cpuset, 'vcpu') };
  } else if (vcpuEl?.attrs.cpuset !== undefined) out.vcpuCpuset = canonicalCpuset(vcpuEl.attrs.cpuset, 'vcpu');
  const list = child(root, 'vcpus');
  if (list) out.vcpuList = parseVcpuList(list, max, out.vcpuCurrent ?? max);
  const tune = child(root, 'cputune');
  if (tune) out.cputune = parseCputune(tune, max);
  return out;
}

function parseVcpuList(list: XmlElement, max: number, current: number): VcpuState[] {
  const byId = new Map<number, VcpuState>();
  for (const v of childrenNamed(list, 'vcpu')) {
    const id = nonNegativeInt(v.attrs.id ?? '', 'vcpu');
    if (id >= max) throw xmlInvalid('vcpus', `vcpu id '${id}' is out of range (the domain has ${max})`);
    if (byId.has(id)) throw xmlInvalid('vcpus', `duplicate vcpu id '${id}'`);
    const s: VcpuState = {
      id,
      enabled: yesNo(v.attrs.enabled, 'vcpu', 'enabled') ?? false,
      hotpluggable: yesNo(v.attrs.hotpluggable, 'vcpu', 'hotpluggable') ?? false,
    };
    if (v.attrs.order !== undefined) s.order = positiveInt(v.attrs.order, 'vcpu');
    byId.set(id, s);
  }
  if (byId.size !== max) throw xmlInvalid('vcpus', `<vcpus> must list every vcpu (${byId.size} of ${max} listed)`);
  const states = [...byId.values()].sort((a, b) => a.id - b.id);
  const enabled = states.filter((s) => s.enabled).length;
  if (enabled !== current) throw xmlInvalid('vcpus', `${enabled} vcpus are enabled, but <vcpu current> says ${current}`);
  // QEMU boots the first N CPU slots (-smp N) and hot-plugs the rest: the vCPUs that are not hot-pluggable come first, online.
  const boot = states.filter((s) => !s.hotpluggable).length;
  for (const s of states) {
    if (s.id < boot && (s.hotpluggable || !s.enabled))
      throw xmlInvalid('vcpus', `vcpu '${s.id}': the vcpus that are not hotpluggable must be the first ones, and online`);
  }
  if (boot === 0) throw xmlInvalid('vcpus', "vcpu '0' can't be hotpluggable");
  return states;
}

function parseCputune(tune: XmlElement, max: number): CputuneDefinition {
  const out: CputuneDefinition = { vcpupins: [] };
  for (const pin of childrenNamed(tune, 'vcpupin')) {
    const vcpu = nonNegativeInt(pin.attrs.vcpu ?? '', 'vcpupin');
    if (vcpu >= max) throw xmlInvalid('vcpupin', `vcpu '${vcpu}' of <vcpupin> is out of range (the domain has ${max})`);
    if (out.vcpupins.some((p) => p.vcpu === vcpu)) throw xmlInvalid('vcpupin', `duplicate vcpupin for vcpu '${vcpu}'`);
    out.vcpupins.push({ vcpu, cpuset: canonicalCpuset(pin.attrs.cpuset ?? '', 'vcpupin') });
  }
  out.vcpupins.sort((a, b) => a.vcpu - b.vcpu);
  const emulator = child(tune, 'emulatorpin');
  if (emulator) out.emulatorpin = canonicalCpuset(emulator.attrs.cpuset ?? '', 'emulatorpin');
  const iothreadpins = parseIothreadPins(tune);
  if (iothreadpins.length > 0) out.iothreadpins = iothreadpins;
  const { shares, bandwidth } = parseCpuBandwidth(tune);
  if (shares !== undefined) out.shares = shares;
  if (bandwidth !== undefined) out.bandwidth = bandwidth;
  return out;
}

/** <vcpu>, <vcpus> (when kept) and <cputune> as libvirt writes them. */
export function renderVcpus(def: DomainDefinition): XmlElement[] {
  const out: XmlElement[] = [
    el(
      'vcpu',
      {
        placement: def.vcpuPlacement ?? 'static',
        cpuset: def.vcpuPlacement === 'auto' ? def.numaAdvice?.cpuset : def.vcpuCpuset,
        current: def.vcpuCurrent === undefined ? undefined : String(def.vcpuCurrent),
      },
      String(def.vcpus),
    ),
  ];
  if (def.vcpuList) {
    out.push(
      el(
        'vcpus',
        {},
        def.vcpuList.map((v) =>
          el('vcpu', {
            id: String(v.id),
            enabled: v.enabled ? 'yes' : 'no',
            hotpluggable: v.hotpluggable ? 'yes' : 'no',
            order: v.order === undefined ? undefined : String(v.order),
          }),
        ),
      ),
    );
  }
  const t = def.cputune;
  const tuning = t ? [...renderCpuBandwidth(t), ...renderThreadSchedulers(t)] : [];
  if (t && (t.vcpupins.length > 0 || t.emulatorpin !== undefined || t.iothreadpins !== undefined || tuning.length > 0)) {
    out.push(
      el('cputune', {}, [
        ...renderCpuBandwidth(t),
        ...t.vcpupins.map((p) => el('vcpupin', { vcpu: String(p.vcpu), cpuset: p.cpuset })),
        t.emulatorpin === undefined ? undefined : el('emulatorpin', { cpuset: t.emulatorpin }),
        ...(t.iothreadpins ?? []).map((p) => el('iothreadpin', { iothread: String(p.iothread), cpuset: p.cpuset })),
        ...renderThreadSchedulers(t),
      ]),
    );
  }
  return out;
}

/** How many vCPUs are online. */
export function currentVcpus(def: DomainDefinition): number {
  return def.vcpuCurrent ?? def.vcpus;
}

/**
 * Every vCPU's state: <vcpus> as kept, else libvirt's default (the first
 * `current` online and booted with the machine, the rest hot-pluggable and offline).
 */
export function vcpuStates(def: DomainDefinition): VcpuState[] {
  if (def.vcpuList) return def.vcpuList;
  const current = currentVcpus(def);
  return Array.from({ length: def.vcpus }, (_, id) => ({ id, enabled: id < current, hotpluggable: id >= current }));
}

/** The host CPUs vCPU `id` may run on by its definition: its <vcpupin>, else <vcpu cpuset> (or placement='auto''s advice), else any (undefined). */
export function vcpuAffinity(def: DomainDefinition, id: number): string | undefined {
  return def.cputune?.vcpupins.find((p) => p.vcpu === id)?.cpuset ?? placedCpuset(def);
}

/** The host CPUs QEMU's other threads may run on: <emulatorpin>, else <vcpu cpuset> (or placement='auto''s advice), else any. */
export function emulatorAffinity(def: DomainDefinition): string | undefined {
  return def.cputune?.emulatorpin ?? placedCpuset(def);
}

/** <vcpu cpuset>, or with placement='auto' the CPUs of the advised nodes (a running domain's only). */
export function placedCpuset(def: DomainDefinition): string | undefined {
  return def.vcpuPlacement === 'auto' ? def.numaAdvice?.cpuset : def.vcpuCpuset;
}

/** The CPU topology QEMU gets: as defined, else libvirt's default (one socket per vCPU). */
export function effectiveTopology(def: DomainDefinition): { sockets: number; dies: number; clusters: number; cores: number; threads: number } {
  const t = def.cpu?.topology;
  if (t) return { sockets: t.sockets, dies: t.dies, clusters: t.clusters ?? 1, cores: t.cores, threads: t.threads };
  return { sockets: def.vcpus, dies: 1, clusters: 1, cores: 1, threads: 1 };
}

/** QEMU's CPU slot of vCPU `id` (socket-id, die-id when dies > 1, core-id, thread-id): libvirt's vCPU ids count threads first. */
export function vcpuSlot(def: DomainDefinition, id: number): Record<string, number> {
  const t = effectiveTopology(def);
  const thread = id % t.threads;
  const core = Math.floor(id / t.threads) % t.cores;
  const die = Math.floor(id / (t.threads * t.cores * t.clusters)) % t.dies;
  const socket = Math.floor(id / (t.threads * t.cores * t.clusters * t.dies));
  return { 'socket-id': socket, ...(t.dies > 1 ? { 'die-id': die } : {}), 'core-id': core, 'thread-id': thread };
}

/**
 * The definition after vCPUs `ids` came online (hot-plugged, in that order) or
 * went offline: <vcpus> is kept from then on, as libvirt does once a vCPU was
 * hot-plugged, so the destination of a migration boots the very same CPUs.
 */
export function withVcpusOnline(def: DomainDefinition, ids: readonly number[], online: boolean): DomainDefinition {
  const states = vcpuStates(def).map((s) => ({ ...s }));
  let order = Math.max(0, ...states.map((s) => s.order ?? 0), states.filter((s) => s.enabled && s.order === undefined).length);
  for (const id of ids) {
    const s = states[id];
    if (!s) continue;
    s.enabled = online;
    if (online) s.order = ++order;
    else delete s.order;
  }
  const current = states.filter((s) => s.enabled).length;
  const next: DomainDefinition = { ...def, vcpuList: states };
  if (current < def.vcpus) next.vcpuCurrent = current;
  else delete next.vcpuCurrent;
  return next;
}

/**
 * The persistent definition with a new vCPU count (setvcpus --config): the
 * current count, or with `maximum` the maximum (the current count follows it
 * down; the topology must still add up, pins beyond it go).
 */
export function withVcpuCount(def: DomainDefinition, count: number, maximum: boolean): DomainDefinition {
  const next: DomainDefinition = { ...def };
  delete next.vcpuList;
  if (maximum) {
    const t = def.cpu?.topology;
    if (t && t.sockets * t.dies * (t.clusters ?? 1) * t.cores * t.threads !== count) {
      throw xmlInvalid('vcpu', `CPU topology doesn't match the desired vcpu count (${count}): change <topology> with the maximum`);
    }
    next.vcpus = count;
    const current = Math.min(currentVcpus(def), count);
    if (current < count) next.vcpuCurrent = current;
    else delete next.vcpuCurrent;
    if (def.cputune) next.cputune = { ...def.cputune, vcpupins: def.cputune.vcpupins.filter((p) => p.vcpu < count) };
    return next;
  }
  if (count > def.vcpus) throw xmlInvalid('vcpu', `requested vcpus is greater than max allowable vcpus for the persistent domain: ${count} > ${def.vcpus}`);
  if (count < def.vcpus) next.vcpuCurrent = count;
  else delete next.vcpuCurrent;
  return next;
}
