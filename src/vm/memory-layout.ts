import {
  INTERCONNECTS_RULE,
  NUMA_CACHE_RULE,
  type NumaCache,
  type NumaInterconnect,
  parseInterconnects,
  parseNumaCaches,
  renderInterconnects,
  renderNumaCaches,
} from './numa-hmat.js';
import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import { toKiB } from './memory-units.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid } from './xml-errors.js';
import { nonNegativeInt, oneOf, positiveInt, yesNo } from './xml-values.js';

/**
 * How the guest's RAM is laid out and backed: <cpu><numa> cells, <numatune>,
 * <memoryBacking> and <maxMemory>. Each part ends up on QEMU's command line
 * (src/qemu/devices/memory.ts); what ferry cannot apply stays out of the rules
 * below, so define refuses it with its path.
 */
export interface MemoryLayout {
  /** <cpu><numa><cell>: guest NUMA nodes, in document order. */
  cells?: NumaCell[];
  numatune?: NumaTune;
  backing?: MemoryBacking;
  /** <cpu><numa><interconnects>: HMAT latencies and bandwidths (src/vm/numa-hmat.ts). */
  interconnects?: NumaInterconnect[];
  /** <maxMemory slots unit>: the hotplug ceiling (-m maxmem=, slots=). */
  maxMemory?: { kib: number; slots?: number };
}

export interface NumaCell {
  id: number;
  /** The vCPU list as written ("0-3,8-11"); undefined for a memory-only node. */
  cpus?: string;
  memoryKiB: number;
  memAccess?: 'shared' | 'private';
  discard?: boolean;
  /** <distances><sibling id value>: SLIT distances to other cells. */
  distances?: Array<{ id: number; value: number }>;
  /** <cache level associativity policy>: memory-side caches (HMAT). */
  caches?: NumaCache[];
}

export const NUMATUNE_MODES = ['strict', 'preferred', 'interleave'] as const;
export type NumatuneMode = (typeof NUMATUNE_MODES)[number];

/** 'restrictive' is read only so that the rule walk alone reports it. */
const PARSED_MODES = [...NUMATUNE_MODES, 'restrictive'] as const;

export interface NumaTune {
  /**
   * <memory mode nodeset>: the host nodes for all guest memory; or <memory mode placement='auto'>:
   * the nodes ferry advises at start (DomainDefinition.numaAdvice; src/host/numa-placement.ts).
   */
  memory?: { mode: NumatuneMode; nodeset: string } | { mode: NumatuneMode; placement: 'auto' };
  /** <memnode cellid mode nodeset>: per guest cell. */
  memnodes: Array<{ cellid: number; mode: NumatuneMode; nodeset: string }>;
}

export interface MemoryBacking {
  /** <hugepages>: present = hugepages; pages without a size use the host's default size. */
  hugepages?: Array<{ sizeKiB?: number; nodeset?: string }>;
  nosharepages?: boolean;
  locked?: boolean;
  source?: 'file' | 'anonymous' | 'memfd';
  access?: 'shared' | 'private';
  allocation?: { mode?: 'immediate' | 'ondemand'; threads?: number };
  discard?: boolean;
}

const UNIT = { attrs: { unit: true } } as const;
const NODESET = { attrs: { mode: NUMATUNE_MODES, nodeset: true } } as const;

/** <cpu><numa>: added to the <cpu> rule. */
export const NUMA_RULE: ElementRule = {
  children: {
    cell: {
      attrs: { id: true, cpus: true, memory: true, unit: true, memAccess: ['shared', 'private'], discard: ['yes', 'no'] },
      children: { distances: { children: { sibling: { attrs: { id: true, value: true } } } }, cache: NUMA_CACHE_RULE },
    },
    interconnects: INTERCONNECTS_RULE,
  },
};

/** <numatune>: mode 'restrictive' needs cgroups, which ferry does not apply. */
export const NUMATUNE_RULE: ElementRule = {
  children: {
    memory: { attrs: { ...NODESET.attrs, placement: ['static', 'auto'] } },
    memnode: { attrs: { cellid: true, ...NODESET.attrs } },
  },
};

export const MEMORY_BACKING_RULE: ElementRule = {
  children: {
    hugepages: { children: { page: { attrs: { size: true, unit: true, nodeset: true } } } },
    nosharepages: {},
    locked: {},
    source: { attrs: { type: ['file', 'anonymous', 'memfd'] } },
    access: { attrs: { mode: ['shared', 'private'] } },
    allocation: { attrs: { mode: ['immediate', 'ondemand'], threads: true } },
    discard: {},
  },
};

export const MAX_MEMORY_RULE: ElementRule = { attrs: { slots: true, unit: true } };
export { UNIT as MEMORY_UNIT_RULE };

/** A libvirt node set ("0-3,^2,5"): the sorted node numbers; XML_INVALID when malformed. */
export function parseNodeset(text: string, element: string): number[] {
  const on = new Set<number>();
  const off = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\^)?(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw xmlInvalid(element, `invalid node set '${text}'`);
    const from = Number(m[2]);
    const to = m[3] === undefined ? from : Number(m[3]);
    if (to < from || to > 4095) throw xmlInvalid(element, `invalid node set '${text}'`);
    for (let n = from; n <= to; n++) (m[1] ? off : on).add(n);
  }
  const result = [...on].filter((n) => !off.has(n)).sort((a, b) => a - b);
  if (result.length === 0) throw xmlInvalid(element, `node set '${text}' is empty`);
  return result;
}

/**
 * Reads the memory layout of a <domain>; undefined when it has none of it.
 * With <vcpu placement='auto'> (`vcpuAuto`) and no <numatune><memory>, the
 * memory is placed automatically too (mode 'strict'), as libvirt does.
 * `advisedNodeset`: a running domain's advice, read from its live XML.
 */
export function parseMemoryLayout(root: XmlElement, vcpus: number, vcpuAuto = false): (MemoryLayout & { advisedNodeset?: string }) | undefined {
  const layout: MemoryLayout = {};
  const numa = child(root, 'cpu') ? child(child(root, 'cpu') as XmlElement, 'numa') : undefined;
  if (numa) layout.cells = parseCells(numa, vcpus);
  const links = numa ? parseInterconnects(numa, layout.cells ?? []) : undefined;
  if (links) layout.interconnects = links;
  const tune = child(root, 'numatune');
  const parsedTune = tune ? parseNumatune(tune, layout.cells ?? [], vcpuAuto) : undefined;
  if (parsedTune) layout.numatune = parsedTune.tune;
  if (vcpuAuto && !layout.numatune?.memory) layout.numatune = { ...(layout.numatune ?? { memnodes: [] }), memory: { mode: 'strict', placement: 'auto' } };
  if (vcpuAuto && layout.numatune?.memnodes.length && 'placement' in (layout.numatune.memory ?? {})) {
    throw xmlInvalid('memnode', 'Per-node binding is not compatible with automatic NUMA placement.');
  }
  const backing = child(root, 'memoryBacking');
  if (backing) layout.backing = parseBacking(backing, layout.cells ?? []);
  const max = child(root, 'maxMemory');
  if (max) {
    layout.maxMemory = { kib: toKiB(max.text, max.attrs.unit, 'maxMemory') };
    if (max.attrs.slots !== undefined) layout.maxMemory.slots = nonNegativeInt(max.attrs.slots, 'maxMemory');
    if ((layout.maxMemory.slots ?? 0) > 255) throw xmlInvalid('maxMemory', `slots '${layout.maxMemory.slots}' is over 255`);
  }
  if (Object.keys(layout).length === 0) return undefined;
  return parsedTune?.advisedNodeset === undefined ? layout : { ...layout, advisedNodeset: parsedTune.advisedNodeset };
}

function parseCells(numa: XmlElement, vcpus: number): NumaCell[] {
  const cells = childrenNamed(numa, 'cell').map((c, i): NumaCell => {
    const id = c.attrs.id === undefined ? i : nonNegativeInt(c.attrs.id, 'cell');
    if (c.attrs.memory === undefined) throw xmlInvalid('cell', `NUMA cell ${id}: missing memory`);
    const cell: NumaCell = { id, memoryKiB: toKiB(c.attrs.memory, c.attrs.unit, 'cell') };
    if (c.attrs.cpus !== undefined && c.attrs.cpus !== '') {
      const cpus = parseNodeset(c.attrs.cpus, 'cell');
      if (cpus[cpus.length - 1] >= vcpus) throw xmlInvalid('cell', `NUMA cell ${id}: vCPU ${cpus[cpus.length - 1]} is beyond the ${vcpus} vCPUs`);
      cell.cpus = c.attrs.cpus;
    }
    if (c.attrs.memAccess === 'shared' || c.attrs.memAccess === 'private') cell.memAccess = c.attrs.memAccess;
    const discard = yesNo(c.attrs.discard, 'cell', 'discard');
    if (discard !== undefined) cell.discard = discard;
    const distances = child(c, 'distances');
    if (distances) {
      cell.distances = childrenNamed(distances, 'sibling').map((s) => ({
        id: nonNegativeInt(s.attrs.id ?? '', 'sibling'),
        value: positiveInt(s.attrs.value ?? '', 'sibling'),
      }));
    }
    const caches = parseNumaCaches(c, id);
    if (caches) cell.caches = caches;
    return cell;
  });
  cells.forEach((c, i) => {
    if (c.id !== i) throw xmlInvalid('cell', `NUMA cell ids must be 0, 1, ... in order (cell ${i} has id ${c.id})`);
    for (const d of c.distances ?? []) {
      if (d.id >= cells.length) throw xmlInvalid('sibling', `NUMA cell ${c.id}: distance to cell ${d.id}, which does not exist`);
      if (d.value < 10 || d.value > 255 || (d.id === c.id) !== (d.value === 10)) {
        throw xmlInvalid('sibling', `NUMA cell ${c.id}: invalid distance ${d.value} to cell ${d.id} (10 to itself, 11-255 to others)`);
      }
    }
  });
  return cells;
}

/** The host nodes <numatune><memory> names: its nodeset, or with placement='auto' the advice (undefined before one is given). */
export function numatuneMemoryNodeset(memory: NonNullable<NumaTune['memory']>, advice: { nodeset?: string } | undefined): string | undefined {
  return 'nodeset' in memory ? memory.nodeset : advice?.nodeset;
}

/**
 * <numatune>, as libvirt reads it: <memory> without placement is 'static' with
 * a nodeset, else 'auto' when <vcpu placement='auto'> (libvirt wants a nodeset
 * otherwise); beside placement='auto', a nodeset is the advice of a running
 * domain (its live XML). <memnode> cannot go with placement='auto'.
 */
function parseNumatune(tune: XmlElement, cells: NumaCell[], vcpuAuto: boolean): { tune: NumaTune; advisedNodeset?: string } {
  const result: NumaTune = { memnodes: [] };
  let advisedNodeset: string | undefined;
  const mem = child(tune, 'memory');
  if (mem) {
    const mode = oneOf(mem.attrs.mode ?? 'strict', PARSED_MODES, 'numatune', 'mode');
    const placement = mem.attrs.placement === undefined ? undefined : oneOf(mem.attrs.placement, ['static', 'auto'] as const, 'numatune', 'placement');
    // The rule walk names mode='restrictive'; nothing more to say about it here.
    if (mode === 'restrictive') return { tune: result };
    if (mem.attrs.nodeset !== undefined) parseNodeset(mem.attrs.nodeset, 'numatune');
    if (placement === 'auto' || (placement === undefined && mem.attrs.nodeset === undefined && vcpuAuto)) {
      result.memory = { mode, placement: 'auto' };
      advisedNodeset = mem.attrs.nodeset;
    } else {
      if (mem.attrs.nodeset === undefined) {
        throw xmlInvalid('numatune', "nodeset for NUMA memory tuning must be set if 'placement' is 'static' (or use placement='auto')");
      }
      result.memory = { mode, nodeset: mem.attrs.nodeset };
    }
  }
  const memnodes = childrenNamed(tune, 'memnode');
  if (memnodes.length > 0 && result.memory && 'placement' in result.memory) {
    throw xmlInvalid('memnode', 'Per-node binding is not compatible with automatic NUMA placement.');
  }
  for (const m of memnodes) {
    const cellid = nonNegativeInt(m.attrs.cellid ?? '', 'memnode');
    if (cellid >= cells.length) throw xmlInvalid('memnode', `cellid ${cellid} names no <cpu><numa> cell`);
    if (result.memnodes.some((x) => x.cellid === cellid)) throw xmlInvalid('memnode', `cellid ${cellid} is given twice`);
    const mode = oneOf(m.attrs.mode ?? 'strict', PARSED_MODES, 'memnode', 'mode');
    if (mode === 'restrictive') continue;
    parseNodeset(m.attrs.nodeset ?? '', 'memnode');
    result.memnodes.push({ cellid, mode, nodeset: m.attrs.nodeset ?? '' });
  }
  return advisedNodeset === undefined ? { tune: result } : { tune: result, advisedNodeset };
}

function parseBacking(b: XmlElement, cells: NumaCell[]): MemoryBacking {
  const result: MemoryBacking = {};
  const huge = child(b, 'hugepages');
  if (huge) {
    result.hugepages = childrenNamed(huge, 'page').map((p) => {
      const page: { sizeKiB?: number; nodeset?: string } = {};
      if (p.attrs.size !== undefined) page.sizeKiB = toKiB(p.attrs.size, p.attrs.unit, 'page');
      if (p.attrs.nodeset !== undefined) {
        const nodes = parseNodeset(p.attrs.nodeset, 'page');
        if (nodes.some((n) => n >= cells.length)) throw xmlInvalid('page', `hugepage nodeset '${p.attrs.nodeset}' names a guest NUMA node that does not exist`);
        page.nodeset = p.attrs.nodeset;
      }
      return page;
    });
  }
  if (child(b, 'nosharepages')) result.nosharepages = true;
  if (child(b, 'locked')) result.locked = true;
  const source = child(b, 'source')?.attrs.type;
  if (source !== undefined) result.source = oneOf(source, ['file', 'anonymous', 'memfd'] as const, 'source', 'type');
  const access = child(b, 'access')?.attrs.mode;
  if (access !== undefined) result.access = oneOf(access, ['shared', 'private'] as const, 'access', 'mode');
  const alloc = child(b, 'allocation');
  if (alloc) {
    result.allocation = {};
    if (alloc.attrs.mode !== undefined) result.allocation.mode = oneOf(alloc.attrs.mode, ['immediate', 'ondemand'] as const, 'allocation', 'mode');
    if (alloc.attrs.threads !== undefined) result.allocation.threads = positiveInt(alloc.attrs.threads, 'allocation');
  }
  if (child(b, 'discard')) result.discard = true;
  if (result.hugepages && result.source === 'anonymous') throw xmlInvalid('memoryBacking', "hugepages cannot be backed by source type 'anonymous'");
  return result;
}

/** <cpu><numa>, rendered inside <cpu>. */
export function renderNuma(layout: MemoryLayout | undefined): XmlElement | undefined {
  if (!layout?.cells) return undefined;
  return el(
    'numa',
    {},
    layout.cells
      .map((c) =>
        el(
          'cell',
          {
            id: c.id,
            cpus: c.cpus,
            memory: c.memoryKiB,
            unit: 'KiB',
            memAccess: c.memAccess,
            discard: c.discard === undefined ? undefined : c.discard ? 'yes' : 'no',
          },
          [
            c.distances
              ? el(
                  'distances',
                  {},
                  c.distances.map((d) => el('sibling', { id: d.id, value: d.value })),
                )
              : undefined,
            ...renderNumaCaches(c.caches),
          ],
        ),
      )
      .concat(renderInterconnects(layout.interconnects) ?? []),
  );
}

/** <maxMemory>, <memoryBacking> and <numatune>: top-level elements, sorted by the caller (`advisedNodeset`: a running domain's advice). */
export function renderMemoryLayout(layout: MemoryLayout | undefined, advisedNodeset?: string): XmlElement[] {
  if (!layout) return [];
  const out: XmlElement[] = [];
  if (layout.maxMemory) out.push(el('maxMemory', { slots: layout.maxMemory.slots, unit: 'KiB' }, String(layout.maxMemory.kib)));
  const b = layout.backing;
  if (b) {
    out.push(
      el('memoryBacking', {}, [
        b.hugepages
          ? el(
              'hugepages',
              {},
              b.hugepages.map((p) => el('page', { size: p.sizeKiB, unit: p.sizeKiB === undefined ? undefined : 'KiB', nodeset: p.nodeset })),
            )
          : undefined,
        b.nosharepages ? el('nosharepages') : undefined,
        b.locked ? el('locked') : undefined,
        b.source ? el('source', { type: b.source }) : undefined,
        b.access ? el('access', { mode: b.access }) : undefined,
        b.allocation ? el('allocation', { mode: b.allocation.mode, threads: b.allocation.threads }) : undefined,
        b.discard ? el('discard') : undefined,
      ]),
    );
  }
  const t = layout.numatune;
  if (t) {
    out.push(
      el('numatune', {}, [
        t.memory
          ? el(
              'memory',
              'nodeset' in t.memory ? { mode: t.memory.mode, nodeset: t.memory.nodeset } : { mode: t.memory.mode, placement: 'auto', nodeset: advisedNodeset },
            )
          : undefined,
        ...t.memnodes.map((m) => el('memnode', { cellid: m.cellid, mode: m.mode, nodeset: m.nodeset })),
      ]),
    );
  }
  return out;
}
