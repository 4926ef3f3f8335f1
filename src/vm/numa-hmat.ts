import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid } from './xml-errors.js';
import { nonNegativeInt, oneOf, positiveInt } from './xml-values.js';
import { toKiB } from './memory-units.js';

/**
 * ACPI HMAT of the guest's NUMA nodes (libvirt 11 → QEMU): a cell's memory-side <cache>s
 * (-numa hmat-cache) and the <interconnects> between nodes (-numa hmat-lb), with
 * -machine hmat=on and an initiator= on each -numa node.
 */
export interface NumaCache {
  level: number;
  associativity: 'none' | 'direct' | 'full';
  policy: 'none' | 'writeback' | 'writethrough';
  sizeKiB: number;
  /** bytes */
  line?: number;
}

export interface NumaInterconnect {
  kind: 'latency' | 'bandwidth';
  initiator: number;
  target: number;
  /** The target's cache level; absent: its memory. */
  cache?: number;
  type: 'access' | 'read' | 'write';
  /** latency: ns; bandwidth: KiB/s */
  value: number;
}

const SIZE = { attrs: { value: true, unit: true } } as const;
export const NUMA_CACHE_RULE: ElementRule = {
  attrs: { level: true, associativity: ['none', 'direct', 'full'], policy: ['none', 'writeback', 'writethrough'] },
  children: { size: SIZE, line: SIZE },
};
const LINK = { initiator: true, target: true, cache: true, type: ['access', 'read', 'write'], value: true } as const;
export const INTERCONNECTS_RULE: ElementRule = {
  children: { latency: { attrs: LINK }, bandwidth: { attrs: { ...LINK, unit: true } } },
};

export function parseNumaCaches(cell: XmlElement, id: number): NumaCache[] | undefined {
  const caches = childrenNamed(cell, 'cache').map((c): NumaCache => {
    const level = positiveInt(c.attrs.level ?? '', 'cache');
    if (level > 3) throw xmlInvalid('cache', `NUMA cell ${id}: cache level ${level} (QEMU has levels 1 to 3)`);
    const size = child(c, 'size');
    if (!size) throw xmlInvalid('cache', `NUMA cell ${id}: cache level ${level} needs <size>`);
    const result: NumaCache = {
      level,
      associativity: oneOf(c.attrs.associativity ?? '', ['none', 'direct', 'full'] as const, 'cache', 'associativity'),
      policy: oneOf(c.attrs.policy ?? '', ['none', 'writeback', 'writethrough'] as const, 'cache', 'policy'),
      sizeKiB: toKiB(size.attrs.value ?? '', size.attrs.unit, 'size'),
    };
    const line = child(c, 'line');
    if (line)
      result.line = ['b', 'bytes', undefined].includes(line.attrs.unit?.toLowerCase())
        ? positiveInt(line.attrs.value ?? '', 'line')
        : toKiB(line.attrs.value ?? '', line.attrs.unit, 'line') * 1024;
    return result;
  });
  if (caches.length === 0) return undefined;
  if (new Set(caches.map((c) => c.level)).size !== caches.length) throw xmlInvalid('cache', `NUMA cell ${id}: a cache level is given twice`);
  return caches;
}

export function parseInterconnects(
  numa: XmlElement,
  cells: ReadonlyArray<{ id: number; cpus?: string; caches?: NumaCache[] }>,
): NumaInterconnect[] | undefined {
  const el = child(numa, 'interconnects');
  if (!el) return undefined;
  return el.children
    .filter((c) => c.name === 'latency' || c.name === 'bandwidth')
    .map((c): NumaInterconnect => {
      const initiator = nonNegativeInt(c.attrs.initiator ?? '', c.name);
      const target = nonNegativeInt(c.attrs.target ?? '', c.name);
      const initiatorCell = cells.find((x) => x.id === initiator);
      if (!initiatorCell) throw xmlInvalid(c.name, `'initiator' refers to a non-existent NUMA node ${initiator}`);
      if (!cells.some((x) => x.id === target)) throw xmlInvalid(c.name, `'target' refers to a non-existent NUMA node ${target}`);
      if (initiatorCell.cpus === undefined) throw xmlInvalid(c.name, `NUMA node ${initiator} has no vCPUs: it cannot be an initiator`);
      const result: NumaInterconnect = {
        kind: c.name as 'latency' | 'bandwidth',
        initiator,
        target,
        type: oneOf(c.attrs.type ?? '', ['access', 'read', 'write'] as const, c.name, 'type'),
        value: c.name === 'bandwidth' ? toKiB(c.attrs.value ?? '', c.attrs.unit, 'bandwidth') : positiveInt(c.attrs.value ?? '', 'latency'),
      };
      if (c.attrs.cache !== undefined && c.attrs.cache !== '0') {
        const cache = positiveInt(c.attrs.cache, c.name);
        if (!cells.find((x) => x.id === target)?.caches?.some((k) => k.level === cache))
          throw xmlInvalid(c.name, `NUMA node ${target} has no cache level ${cache}`);
        result.cache = cache;
      }
      return result;
    });
}

export function renderNumaCaches(caches: readonly NumaCache[] | undefined): XmlElement[] {
  return (caches ?? []).map((c) =>
    el('cache', { level: c.level, associativity: c.associativity, policy: c.policy }, [
      el('size', { value: c.sizeKiB, unit: 'KiB' }),
      c.line === undefined ? undefined : el('line', { value: c.line, unit: 'B' }),
    ]),
  );
}

export function renderInterconnects(links: readonly NumaInterconnect[] | undefined): XmlElement | undefined {
  if (!links) return undefined;
  return el(
    'interconnects',
    {},
    links.map((l) =>
      el(l.kind, {
        initiator: l.initiator,
        target: l.target,
        cache: l.cache,
        type: l.type,
        value: l.value,
        unit: l.kind === 'bandwidth' ? 'KiB' : undefined,
      }),
    ),
  );
}

/** Whether the guest gets an HMAT (libvirt: any cache or interconnect). */
export function hasHmat(cells: ReadonlyArray<{ caches?: NumaCache[] }> | undefined, links: readonly NumaInterconnect[] | undefined): boolean {
  return (links?.length ?? 0) > 0 || (cells ?? []).some((c) => (c.caches?.length ?? 0) > 0);
}

/**
 * A node's initiator, as libvirt picks it: itself when it has vCPUs, else the initiator with the lowest
 * latency to it, else the one with the highest bandwidth, else the first node that has vCPUs.
 */
export function nodeInitiator(cells: ReadonlyArray<{ id: number; cpus?: string }>, links: readonly NumaInterconnect[] | undefined, id: number): number {
  if (cells.find((c) => c.id === id)?.cpus !== undefined) return id;
  const to = (links ?? []).filter((l) => l.target === id);
  const lat = to.filter((l) => l.kind === 'latency').reduce<NumaInterconnect | undefined>((b, l) => (b === undefined || l.value < b.value ? l : b), undefined);
  if (lat) return lat.initiator;
  const bw = to.filter((l) => l.kind === 'bandwidth').reduce<NumaInterconnect | undefined>((b, l) => (b === undefined || l.value > b.value ? l : b), undefined);
  if (bw) return bw.initiator;
  return cells.find((c) => c.cpus !== undefined)?.id ?? 0;
}

const HIERARCHY = ['memory', 'first-level', 'second-level', 'third-level'];
const POLICY = { none: 'none', writeback: 'write-back', writethrough: 'write-through' } as const;

/** -numa hmat-lb and hmat-cache, in libvirt's order. */
export function hmatArgs(cells: ReadonlyArray<{ id: number; caches?: NumaCache[] }>, links: readonly NumaInterconnect[] | undefined): string[] {
  const out: string[] = [];
  for (const l of links ?? []) {
    const data = `${l.type}-${l.kind}`;
    out.push(
      '-numa',
      `hmat-lb,initiator=${l.initiator},target=${l.target},hierarchy=${HIERARCHY[l.cache ?? 0]},data-type=${data},${l.kind === 'latency' ? `latency=${l.value}` : `bandwidth=${l.value}K`}`,
    );
  }
  for (const c of cells) {
    for (const k of c.caches ?? []) {
      out.push(
        '-numa',
        [
          `hmat-cache,node-id=${c.id}`,
          `size=${k.sizeKiB}K`,
          `level=${k.level}`,
          `associativity=${k.associativity === 'full' ? 'complex' : k.associativity}`,
          `policy=${POLICY[k.policy]}`,
          ...(k.line === undefined ? [] : [`line=${k.line}`]),
        ].join(','),
      );
    }
  }
  return out;
}
