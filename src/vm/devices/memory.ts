import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE, parseAddress, renderAddress } from '../device-address.js';
import type { Placed } from '../definition.js';
import { toKiB } from '../memory-units.js';
import { parseNodeset } from '../memory-layout.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { anyInt, nonNegativeInt, oneOf, yesNo } from '../xml-values.js';
import { ALIAS_RULE } from './placement.js';

export const MEMORY_MODELS = ['dimm', 'nvdimm', 'virtio-mem', 'virtio-pmem'] as const;

/** <memory model=...> under <devices>: hot-pluggable guest memory. */
export interface MemoryDeviceDefinition extends Placed {
  model: (typeof MEMORY_MODELS)[number];
  access?: 'shared' | 'private';
  discard?: boolean;
  /** <source>: the backing file (nvdimm, virtio-pmem), host nodes, page size, alignment, real persistent memory. */
  path?: string;
  nodemask?: string;
  pagesizeKiB?: number;
  alignsizeKiB?: number;
  pmem?: boolean;
  sizeKiB: number;
  /** Guest NUMA node. */
  node?: number;
  labelSizeKiB?: number;
  readonly?: boolean;
  /** virtio-mem: block size, requested size, dynamic memslots. */
  blockKiB?: number;
  requestedKiB?: number;
  dynamicMemslots?: boolean;
  /** virtio-mem / virtio-pmem: guest physical address (<target><address base>). */
  memaddr?: number;
  /** dimm / nvdimm: <address type='dimm' slot base>. */
  dimm?: { slot?: number; base?: number };
}

const UNIT = { attrs: { unit: true } } as const;

export const MEMORY_DEVICE_RULE: ElementRule = {
  attrs: { model: MEMORY_MODELS, access: ['shared', 'private'], discard: ['yes', 'no'] },
  label: (e, i) => `<memory model='${e.attrs.model ?? '?'}'> #${i}`,
  children: {
    source: { children: { path: {}, nodemask: {}, pagesize: UNIT, alignsize: UNIT, pmem: {} } },
    target: {
      attrs: { dynamicMemslots: ['yes', 'no'] },
      children: {
        size: UNIT,
        node: {},
        label: { children: { size: UNIT } },
        readonly: {},
        block: UNIT,
        requested: UNIT,
        current: UNIT,
        address: { attrs: { base: true } },
      },
    },
    alias: ALIAS_RULE,
    address: { attrs: { ...ADDRESS_RULE.attrs, type: ['pci', 'dimm'], slot: true, base: true } },
  },
};

const kib = (e: XmlElement | undefined, name: string): number | undefined => (e ? toKiB(e.text, e.attrs.unit, name) : undefined);

export function parseMemoryDevice(m: XmlElement, index: number): MemoryDeviceDefinition {
  const label = `<memory> #${index}`;
  const model = oneOf(m.attrs.model ?? '', MEMORY_MODELS, 'memory', 'model');
  const target = child(m, 'target');
  const size = kib(target ? child(target, 'size') : undefined, 'size');
  if (!target || size === undefined) throw xmlInvalid('memory', `${label}: missing <target><size>`);
  const d: MemoryDeviceDefinition = { model, sizeKiB: size };
  if (m.attrs.access === 'shared' || m.attrs.access === 'private') d.access = m.attrs.access;
  const discard = yesNo(m.attrs.discard, 'memory', 'discard');
  if (discard !== undefined) d.discard = discard;
  const source = child(m, 'source');
  if (source) {
    const path = child(source, 'path')?.text;
    if (path !== undefined) d.path = path;
    const nodemask = child(source, 'nodemask')?.text;
    if (nodemask !== undefined) {
      parseNodeset(nodemask, 'nodemask');
      d.nodemask = nodemask;
    }
    const pagesize = kib(child(source, 'pagesize'), 'pagesize');
    if (pagesize !== undefined) d.pagesizeKiB = pagesize;
    const align = kib(child(source, 'alignsize'), 'alignsize');
    if (align !== undefined) d.alignsizeKiB = align;
    if (child(source, 'pmem')) d.pmem = true;
  }
  const node = child(target, 'node')?.text;
  if (node !== undefined) d.node = nonNegativeInt(node, 'node');
  const labelEl = child(target, 'label');
  const labelSize = kib(labelEl ? child(labelEl, 'size') : undefined, 'size');
  if (labelSize !== undefined) d.labelSizeKiB = labelSize;
  if (child(target, 'readonly')) d.readonly = true;
  const block = kib(child(target, 'block'), 'block');
  if (block !== undefined) d.blockKiB = block;
  const requested = kib(child(target, 'requested'), 'requested');
  if (requested !== undefined) d.requestedKiB = requested;
  if (child(target, 'current')) throw xmlInvalid('current', `${label}: <current> is what the guest reports; it cannot be defined`);
  const dyn = yesNo(target.attrs.dynamicMemslots, 'target', 'dynamicMemslots');
  if (dyn !== undefined) d.dynamicMemslots = dyn;
  const base = child(target, 'address')?.attrs.base;
  if (base !== undefined) d.memaddr = anyInt(base, 'address');
  const needsPath = model === 'nvdimm' || model === 'virtio-pmem';
  if (needsPath !== (d.path !== undefined)) {
    throw xmlInvalid('memory', needsPath ? `${label}: model '${model}' needs <source><path>` : `${label}: model '${model}' takes no <source><path>`);
  }
  if (model === 'virtio-mem' && (d.blockKiB === undefined || d.requestedKiB === undefined)) {
    throw xmlInvalid('memory', `${label}: virtio-mem needs <target><block> and <requested>`);
  }
  if (model !== 'virtio-mem' && (d.blockKiB !== undefined || d.requestedKiB !== undefined)) {
    throw xmlInvalid('memory', `${label}: <block> and <requested> are for virtio-mem only`);
  }
  if (model !== 'nvdimm' && (d.labelSizeKiB !== undefined || d.readonly)) throw xmlInvalid('memory', `${label}: <label> and <readonly> are for nvdimm only`);
  const alias = child(m, 'alias')?.attrs.name;
  if (alias !== undefined) d.alias = alias;
  const a = child(m, 'address');
  if (a) {
    if (a.attrs.type === 'dimm') {
      if (model !== 'dimm' && model !== 'nvdimm') throw xmlInvalid('address', `${label}: a dimm address needs model 'dimm' or 'nvdimm'`);
      d.dimm = {};
      if (a.attrs.slot !== undefined) d.dimm.slot = nonNegativeInt(a.attrs.slot, 'address');
      if (a.attrs.base !== undefined) d.dimm.base = anyInt(a.attrs.base, 'address');
    } else {
      const address = parseAddress(a);
      if (!address || address.type !== 'pci' || (model !== 'virtio-mem' && model !== 'virtio-pmem')) {
        throw xmlInvalid('address', `${label}: invalid address ${JSON.stringify(a.attrs)}`);
      }
      d.address = address;
    }
  }
  return d;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function renderMemoryDevice(d: MemoryDeviceDefinition, live: boolean): XmlElement {
  const source =
    d.path !== undefined || d.nodemask !== undefined || d.pagesizeKiB !== undefined || d.alignsizeKiB !== undefined || d.pmem
      ? el('source', {}, [
          d.path === undefined ? undefined : el('path', {}, d.path),
          d.nodemask === undefined ? undefined : el('nodemask', {}, d.nodemask),
          d.pagesizeKiB === undefined ? undefined : el('pagesize', { unit: 'KiB' }, String(d.pagesizeKiB)),
          d.alignsizeKiB === undefined ? undefined : el('alignsize', { unit: 'KiB' }, String(d.alignsizeKiB)),
          d.pmem ? el('pmem') : undefined,
        ])
      : undefined;
  const size = (name: string, v: number | undefined): XmlElement | undefined => (v === undefined ? undefined : el(name, { unit: 'KiB' }, String(v)));
  const target = el('target', { dynamicMemslots: d.dynamicMemslots === undefined ? undefined : d.dynamicMemslots ? 'yes' : 'no' }, [
    size('size', d.sizeKiB),
    d.node === undefined ? undefined : el('node', {}, String(d.node)),
    d.labelSizeKiB === undefined ? undefined : el('label', {}, [size('size', d.labelSizeKiB)]),
    d.readonly ? el('readonly') : undefined,
    size('block', d.blockKiB),
    size('requested', d.requestedKiB),
    d.memaddr === undefined ? undefined : el('address', { base: hex(d.memaddr) }),
  ]);
  const address = d.dimm
    ? el('address', { type: 'dimm', slot: d.dimm.slot, base: d.dimm.base === undefined ? undefined : hex(d.dimm.base) })
    : renderAddress(d.address);
  return el('memory', { model: d.model, access: d.access, discard: d.discard === undefined ? undefined : d.discard ? 'yes' : 'no' }, [
    source,
    target,
    live && d.alias ? el('alias', { name: d.alias }) : undefined,
    address,
  ]);
}

/**
 * Checks the memory devices against <maxMemory> and gives each DIMM-like
 * device without a slot the lowest free one, at define, so the machine (and a
 * migration's destination) is fixed by the definition.
 */
export function placeMemoryDevices(memories: MemoryDeviceDefinition[] | undefined, maxMemory: { kib: number; slots?: number } | undefined): void {
  if (!memories || memories.length === 0) return;
  if (!maxMemory) throw xmlInvalid('memory', 'memory devices need <maxMemory> (the hotplug ceiling)');
  const dimms = memories.filter((m) => m.model === 'dimm' || m.model === 'nvdimm');
  const slots = maxMemory.slots ?? 0;
  if (dimms.length > slots)
    throw xmlInvalid('maxMemory', `${dimms.length} dimm/nvdimm devices need at least ${dimms.length} slots (<maxMemory slots='${slots}'>)`);
  const used = new Set<number>();
  for (const m of dimms) {
    const slot = m.dimm?.slot;
    if (slot === undefined) continue;
    if (slot >= slots) throw xmlInvalid('address', `dimm slot ${slot} is beyond the ${slots} slots of <maxMemory>`);
    if (used.has(slot)) throw xmlInvalid('address', `dimm slot ${slot} is used twice`);
    used.add(slot);
  }
  for (const m of dimms) {
    if (m.dimm?.slot !== undefined) continue;
    let slot = 0;
    while (used.has(slot)) slot++;
    used.add(slot);
    m.dimm = { ...m.dimm, slot };
  }
}
