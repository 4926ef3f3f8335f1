import { el, type XmlElement } from '../shared/xml.js';
import type { CpuDefinition } from './definition.js';
import { NUMA_RULE } from './memory-layout.js';
import { positiveInt } from './xml-values.js';
import { xmlInvalid, xmlUnsupported } from './xml-errors.js';

const FEATURE_POLICIES = ['require', 'disable', 'force', 'optional', 'forbid'] as const;

/** What ferry applies of <cpu> (<numa> is the memory layout's, src/vm/memory-layout.ts; <maxphysaddr> and <vendor> are refused: not named here). */
export const CPU_RULE = {
  attrs: {
    mode: ['host-passthrough', 'host-model', 'custom', 'maximum'],
    match: ['exact', 'minimum', 'strict'],
    check: ['none', 'partial', 'full'],
    migratable: ['on', 'off'],
  },
  children: {
    model: { attrs: { fallback: ['allow', 'forbid'], vendor_id: true } },
    topology: { attrs: { sockets: true, dies: true, clusters: true, cores: true, threads: true } },
    cache: { attrs: { mode: ['passthrough', 'emulate', 'disable'], level: ['3'] } },
    feature: { attrs: { policy: [...FEATURE_POLICIES], name: true } },
    numa: NUMA_RULE,
    maxphysaddr: { attrs: { mode: ['passthrough', 'emulate'], bits: true, limit: true } },
  },
} as const;

export function parseCpu(cpu: XmlElement, vcpus: number): CpuDefinition {
  const model = cpu.children.find((c) => c.name === 'model');
  const mode = cpu.attrs.mode ?? (model?.text ? 'custom' : 'host-model');
  if (mode !== 'host-passthrough' && mode !== 'host-model' && mode !== 'custom' && mode !== 'maximum') {
    throw xmlInvalid('cpu', `invalid cpu mode '${mode}'`);
  }
  if (mode === 'custom' && !model?.text) throw xmlInvalid('cpu', "mode='custom' needs a <model>");
  const result: CpuDefinition = { mode, features: [] };
  const match = cpu.attrs.match;
  if (match === 'exact' || match === 'minimum' || match === 'strict') result.match = match;
  if (model?.text) result.model = model.text;
  if (model?.attrs.fallback === 'allow' || model?.attrs.fallback === 'forbid') result.fallback = model.attrs.fallback;
  const vendorId = model?.attrs.vendor_id;
  if (vendorId !== undefined) {
    if (vendorId.length !== 12) throw xmlInvalid('model', `vendor_id '${vendorId}' must be exactly 12 characters long`);
    result.vendorId = vendorId;
  }
  if (cpu.attrs.check) result.check = cpu.attrs.check;
  if (cpu.attrs.migratable === 'on' || cpu.attrs.migratable === 'off') result.migratable = cpu.attrs.migratable;
  for (const c of cpu.children) {
    if (c.name === 'topology') result.topology = parseTopology(c, vcpus);
    else if (c.name === 'cache') result.cache = parseCache(c, mode);
    else if (c.name === 'maxphysaddr') result.maxphysaddr = parseMaxphysaddr(c);
    else if (c.name === 'feature') {
      const policy = c.attrs.policy ?? 'require';
      if (!(FEATURE_POLICIES as readonly string[]).includes(policy) || !c.attrs.name) {
        throw xmlInvalid('feature', `invalid CPU feature '${c.attrs.name ?? ''}' policy '${policy}'`);
      }
      result.features.push({ policy: policy as CpuDefinition['features'][number]['policy'], name: c.attrs.name });
    }
  }
  return result;
}

function parseTopology(c: XmlElement, vcpus: number): NonNullable<CpuDefinition['topology']> {
  const t: NonNullable<CpuDefinition['topology']> = {
    sockets: positiveInt(c.attrs.sockets ?? '1', 'topology'),
    dies: positiveInt(c.attrs.dies ?? '1', 'topology'),
    cores: positiveInt(c.attrs.cores ?? '1', 'topology'),
    threads: positiveInt(c.attrs.threads ?? '1', 'topology'),
  };
  if (c.attrs.clusters !== undefined) {
    t.clusters = positiveInt(c.attrs.clusters, 'topology');
    // QEMU's x86 machines have no clusters level ("clusters > 1 not supported by this machine's CPU topology").
    if (t.clusters > 1)
      throw xmlUnsupported(`topology clusters='${t.clusters}'`, 'is not supported on x86 (QEMU has no CPU clusters there; use dies or cores)');
  }
  if (t.sockets * t.dies * (t.clusters ?? 1) * t.cores * t.threads !== vcpus) {
    throw xmlInvalid('topology', `CPU topology doesn't match maximum vcpu count (${vcpus})`);
  }
  return t;
}

function parseCache(c: XmlElement, mode: CpuDefinition['mode']): NonNullable<CpuDefinition['cache']> {
  const m = c.attrs.mode;
  if (m !== 'passthrough' && m !== 'emulate' && m !== 'disable') throw xmlInvalid('cache', `invalid CPU cache mode '${m ?? ''}'`);
  const level = c.attrs.level === undefined ? undefined : positiveInt(c.attrs.level, 'cache');
  if (m === 'passthrough' && mode !== 'host-passthrough' && mode !== 'maximum') {
    throw xmlInvalid('cache', "CPU cache mode 'passthrough' can only be used with 'host-passthrough' / 'maximum' CPUs");
  }
  if (m === 'emulate' && level !== 3) throw xmlInvalid('cache', "CPU cache mode 'emulate' needs level='3' (QEMU emulates only an L3 cache)");
  if (m !== 'emulate' && level !== undefined) throw xmlInvalid('cache', `CPU cache mode '${m}' takes no level`);
  return level === undefined ? { mode: m } : { mode: m, level };
}

/** <maxphysaddr mode= bits= limit=>: the guest's physical address width (QEMU's phys-bits; x86 allows 32 to 52). */
function parseMaxphysaddr(c: XmlElement): NonNullable<CpuDefinition['maxphysaddr']> {
  const mode = c.attrs.mode;
  if (mode !== 'passthrough' && mode !== 'emulate') throw xmlInvalid('maxphysaddr', `invalid maxphysaddr mode '${mode ?? ''}'`);
  const width = (attr: 'bits' | 'limit'): number | undefined => {
    const v = c.attrs[attr];
    if (v === undefined) return undefined;
    const n = positiveInt(v, 'maxphysaddr');
    if (n < 32 || n > 52) throw xmlInvalid('maxphysaddr', `${attr} '${n}' is out of range (32 to 52)`);
    return n;
  };
  const bits = width('bits');
  const limit = width('limit');
  if (mode === 'passthrough' && bits !== undefined) throw xmlInvalid('maxphysaddr', "mode='passthrough' takes no bits (use limit)");
  if (mode === 'emulate' && limit !== undefined) throw xmlInvalid('maxphysaddr', "limit is only supported with mode='passthrough'");
  return { mode, ...(bits === undefined ? {} : { bits }), ...(limit === undefined ? {} : { limit }) };
}

/** libvirt's -cpu flags for <maxphysaddr>: the host's width (optionally capped), a given width, or QEMU's own. */
export function cpuPhysAddrFlags(cpu: CpuDefinition | undefined): string[] {
  const m = cpu?.maxphysaddr;
  if (!m) return [];
  if (m.mode === 'passthrough') return ['host-phys-bits=on', ...(m.limit === undefined ? [] : [`host-phys-bits-limit=${m.limit}`])];
  return m.bits === undefined ? ['host-phys-bits=off'] : [`phys-bits=${m.bits}`];
}

/** <cpu>; `numa` is the memory layout's <numa> element, which libvirt writes inside it. */
export function renderCpu(cpu: CpuDefinition, numa?: XmlElement): XmlElement {
  const hasModel = cpu.model !== undefined || cpu.vendorId !== undefined;
  return el('cpu', { mode: cpu.mode, match: cpu.match, check: cpu.check, migratable: cpu.migratable }, [
    hasModel ? el('model', { fallback: cpu.fallback, vendor_id: cpu.vendorId }, cpu.model) : undefined,
    cpu.topology
      ? el('topology', {
          sockets: String(cpu.topology.sockets),
          dies: String(cpu.topology.dies),
          clusters: cpu.topology.clusters === undefined ? undefined : String(cpu.topology.clusters),
          cores: String(cpu.topology.cores),
          threads: String(cpu.topology.threads),
        })
      : undefined,
    cpu.cache ? el('cache', { level: cpu.cache.level === undefined ? undefined : String(cpu.cache.level), mode: cpu.cache.mode }) : undefined,
    cpu.maxphysaddr ? el('maxphysaddr', { mode: cpu.maxphysaddr.mode, bits: cpu.maxphysaddr.bits, limit: cpu.maxphysaddr.limit }) : undefined,
    ...cpu.features.map((f) => el('feature', { policy: f.policy, name: f.name })),
    numa,
  ]);
}

/** libvirt's -cpu flags for <cache>: an emulated L3, the host's cache info, or neither. */
export function cpuCacheFlags(cpu: CpuDefinition | undefined): string[] {
  if (!cpu?.cache) return [];
  const hostModel = cpu.mode === 'host-passthrough' || cpu.mode === 'maximum';
  switch (cpu.cache.mode) {
    case 'emulate':
      return ['l3-cache=on', ...(hostModel ? ['host-cache-info=off'] : [])];
    case 'passthrough':
      return ['host-cache-info=on', 'l3-cache=off'];
    case 'disable':
      return [...(hostModel ? ['host-cache-info=off'] : []), 'l3-cache=off'];
  }
}
