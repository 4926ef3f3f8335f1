import { hasHmat, hmatArgs, nodeInitiator } from '../../vm/numa-hmat.js';
import type { DomainDefinition } from '../../vm/definition.js';
import type { MemoryDeviceDefinition } from '../../vm/devices/memory.js';
import { type NumatuneMode, numatuneMemoryNodeset, parseNodeset } from '../../vm/memory-layout.js';
import { pciProps } from './device-props.js';

/** Where file-backed guest RAM goes on this host, resolved by the launcher before the argv is built. */
export interface MemoryPaths {
  /** A directory QEMU's user may create files in (memAccess/source 'file' without hugepages). */
  fileDir: string;
  /** hugetlbfs mount point by page size in KiB. */
  hugepageMounts: Readonly<Record<number, string>>;
  /** The host's default hugepage size (Hugepagesize in /proc/meminfo), KiB. */
  defaultHugepageKiB: number;
}

const SYSTEM_PAGE_KIB = 4;
const POLICY: Record<NumatuneMode, string> = { strict: 'bind', preferred: 'preferred', interleave: 'interleave' };

/** Each NUMA cell's size as QEMU gets it: libvirt rounds every cell up to whole MiB. */
export function cellSizesKiB(def: DomainDefinition): number[] {
  return (def.memoryLayout?.cells ?? []).map((c) => Math.ceil(c.memoryKiB / 1024) * 1024);
}

/** The hugepage sizes (KiB) a definition needs from the host; empty when it uses none. */
export function hugepageSizesKiB(def: DomainDefinition, defaultKiB: number): number[] {
  const sizes = new Set<number>();
  const cells = def.memoryLayout?.cells?.length ?? 0;
  if (def.memoryLayout?.backing?.hugepages) {
    for (let i = 0; i < Math.max(cells, 1); i++) {
      const s = cellPageKiB(def, cells > 0 ? i : undefined, defaultKiB);
      if (s !== undefined) sizes.add(s);
    }
  }
  for (const m of def.devices.memories ?? []) {
    const s = devicePageKiB(def, m, defaultKiB);
    if (s !== undefined) sizes.add(s);
  }
  return [...sizes].sort((a, b) => a - b);
}

/**
 * How much guest memory each huge page size backs: the machine's RAM or each
 * NUMA cell, and the DIMM-like devices. `sizeKiB` undefined is the host's
 * default huge page size (<page> without size): a migration's destination
 * counts it in its own default. Empty without huge pages.
 */
export function hugepageMemoryKiB(def: DomainDefinition): Array<{ sizeKiB?: number; kib: number }> {
  const HOST_DEFAULT = 0; // a stand-in for "the host's default size", resolved by whoever counts pages
  const out = new Map<number, number>();
  const add = (pageKiB: number | undefined, kib: number): void => {
    if (pageKiB !== undefined) out.set(pageKiB, (out.get(pageKiB) ?? 0) + kib);
  };
  if (needsMachineBackend(def)) add(cellPageKiB(def, undefined, HOST_DEFAULT), def.memoryKiB - (def.devices.memories ?? []).reduce((n, m) => n + m.sizeKiB, 0));
  const sizes = cellSizesKiB(def);
  (def.memoryLayout?.cells ?? []).forEach((_cell, i) => add(cellPageKiB(def, i, HOST_DEFAULT), sizes[i] ?? 0));
  for (const m of def.devices.memories ?? []) add(devicePageKiB(def, m, HOST_DEFAULT), alignedKiB(m));
  return [...out].sort(([a], [b]) => a - b).map(([size, kib]) => (size === HOST_DEFAULT ? { kib } : { sizeKiB: size, kib }));
}

function cellPageKiB(def: DomainDefinition, cell: number | undefined, defaultKiB: number): number | undefined {
  const pages = def.memoryLayout?.backing?.hugepages;
  if (!pages) return undefined;
  const page =
    pages.find((p) => p.nodeset !== undefined && cell !== undefined && parseNodeset(p.nodeset, 'page').includes(cell)) ??
    pages.find((p) => p.nodeset === undefined) ??
    (pages.length === 0 ? {} : undefined);
  if (!page) return undefined;
  const size = page.sizeKiB ?? defaultKiB;
  return size === SYSTEM_PAGE_KIB ? undefined : size;
}

function devicePageKiB(def: DomainDefinition, m: MemoryDeviceDefinition, defaultKiB: number): number | undefined {
  if (m.model === 'nvdimm' || m.model === 'virtio-pmem') return undefined;
  if (m.pagesizeKiB !== undefined) return m.pagesizeKiB === SYSTEM_PAGE_KIB ? undefined : m.pagesizeKiB;
  const pages = def.memoryLayout?.backing?.hugepages;
  if (!pages) return undefined;
  const page = pages.find((p) => p.nodeset === undefined) ?? (pages.length === 0 ? {} : undefined);
  const size = page ? (page.sizeKiB ?? defaultKiB) : undefined;
  return size === SYSTEM_PAGE_KIB ? undefined : size;
}

/** Does the machine's RAM need an explicit backend without NUMA cells (-machine memory-backend=pc.ram)? <numatune><memory> binds it. */
function needsMachineBackend(def: DomainDefinition): boolean {
  const b = def.memoryLayout?.backing;
  if ((def.memoryLayout?.cells?.length ?? 0) > 0) return false;
  if (def.memoryLayout?.numatune?.memory) return true;
  if (!b) return false;
  return b.hugepages !== undefined || b.source !== undefined || b.access !== undefined || b.allocation !== undefined || b.discard === true;
}

/** -machine options of the memory layout: memory-backend, mem-merge, nvdimm. */
export function memoryMachineOptions(def: DomainDefinition): string[] {
  const opts: string[] = [];
  if (def.memoryLayout?.backing?.nosharepages) opts.push('mem-merge=off');
  if ((def.devices.memories ?? []).some((m) => m.model === 'nvdimm')) opts.push('nvdimm=on');
  if (needsMachineBackend(def)) opts.push('memory-backend=pc.ram');
  if (hasHmat(def.memoryLayout?.cells, def.memoryLayout?.interconnects)) opts.push('hmat=on');
  return opts;
}

/** -m: the boot RAM (the cells' sum with NUMA), hotplug slots and ceiling. */
export function memorySizeArg(def: DomainDefinition): string {
  const cells = cellSizesKiB(def);
  const plugged = (def.devices.memories ?? []).reduce((n, m) => n + m.sizeKiB, 0);
  const size = cells.length > 0 ? cells.reduce((a, b) => a + b, 0) : def.memoryKiB - plugged;
  const max = def.memoryLayout?.maxMemory;
  return [`size=${size}k`, max?.slots ? `slots=${max.slots}` : undefined, max ? `maxmem=${max.kib}k` : undefined].filter(Boolean).join(',');
}

interface BackendInput {
  id: string;
  sizeBytes: number;
  pageKiB?: number;
  share?: boolean;
  path?: string;
  discard?: boolean;
  nodes?: { mode: NumatuneMode; nodeset: string };
  prealloc: boolean;
  canonical?: false;
  extra?: Record<string, unknown>;
}

function backend(def: DomainDefinition, b: BackendInput, paths: MemoryPaths | undefined): Record<string, unknown> {
  const backing = def.memoryLayout?.backing;
  const source = backing?.source;
  const props: Record<string, unknown> = { 'qom-type': 'memory-backend-ram', id: b.id };
  const file =
    b.path !== undefined ||
    (b.pageKiB !== undefined && source !== 'memfd') ||
    source === 'file' ||
    (b.share !== undefined && source === undefined) ||
    (b.discard === true && source !== 'memfd');
  if (source === 'memfd' && b.path === undefined) {
    props['qom-type'] = 'memory-backend-memfd';
    if (b.pageKiB !== undefined) Object.assign(props, { hugetlb: true, hugetlbsize: b.pageKiB * 1024 });
  } else if (file) {
    props['qom-type'] = 'memory-backend-file';
    let path = b.path;
    if (path === undefined && b.pageKiB !== undefined) {
      path = paths?.hugepageMounts[b.pageKiB];
      if (path === undefined) throw new TypeError(`no hugetlbfs mount for ${b.pageKiB} KiB pages was resolved`);
    }
    if (path === undefined) {
      if (!paths) throw new TypeError('file-backed guest memory needs a memory directory');
      path = `${paths.fileDir}/${b.id}`;
    }
    props['mem-path'] = path;
  }
  if (b.share !== undefined) props.share = b.share;
  if (b.canonical === false && props['qom-type'] === 'memory-backend-file') props['x-use-canonical-path-for-ramblock-id'] = false;
  if (b.discard && props['qom-type'] === 'memory-backend-file') props['discard-data'] = true;
  if (b.prealloc) {
    props.prealloc = true;
    if (backing?.allocation?.threads !== undefined) props['prealloc-threads'] = backing.allocation.threads;
  }
  props.size = b.sizeBytes;
  Object.assign(props, b.extra);
  if (b.nodes) {
    props['host-nodes'] = parseNodeset(b.nodes.nodeset, 'numatune');
    props.policy = POLICY[b.nodes.mode];
  }
  return props;
}

function preallocOf(def: DomainDefinition, pageKiB: number | undefined): boolean {
  const mode = def.memoryLayout?.backing?.allocation?.mode;
  return mode === 'immediate' || (pageKiB !== undefined && mode !== 'ondemand');
}

function nodesFor(def: DomainDefinition, cell: number | undefined): BackendInput['nodes'] {
  const t = def.memoryLayout?.numatune;
  if (!t) return undefined;
  const node = cell === undefined ? undefined : t.memnodes.find((m) => m.cellid === cell);
  if (node) return node;
  if (!t.memory) return undefined;
  const nodeset = numatuneMemoryNodeset(t.memory, def.numaAdvice);
  // placement='auto' is settled at start (src/host/numa-placement.ts): an argv without the advice would leave the memory unbound.
  if (nodeset === undefined) throw new TypeError("<numatune><memory placement='auto'> needs the placement advice before the argv is built");
  return { mode: t.memory.mode, nodeset };
}

/** Splits "0-3,8-11" into QEMU's repeated cpus= ranges. */
function cpuRanges(cpus: string): string[] {
  const list = parseNodeset(cpus, 'cell');
  const out: string[] = [];
  for (let i = 0; i < list.length;) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j] + 1) j++;
    out.push(`cpus=${list[i] === list[j] ? list[i] : `${list[i]}-${list[j]}`}`);
    i = j + 1;
  }
  return out;
}

/** -overcommit, the RAM backends, -numa node/dist: everything of the layout before the devices. */
export function memoryLayoutArgs(def: DomainDefinition, paths: MemoryPaths | undefined): string[] {
  const args: string[] = [];
  const layout = def.memoryLayout;
  const defaultKiB = paths?.defaultHugepageKiB ?? 2048;
  if (layout?.backing?.locked) args.push('-overcommit', 'mem-lock=on');
  const backing = layout?.backing;
  if (needsMachineBackend(def)) {
    const pageKiB = cellPageKiB(def, undefined, defaultKiB);
    const sizeKiB = def.memoryKiB - (def.devices.memories ?? []).reduce((n, m) => n + m.sizeKiB, 0);
    args.push(
      '-object',
      JSON.stringify(
        backend(
          def,
          {
            id: 'pc.ram',
            sizeBytes: sizeKiB * 1024,
            pageKiB,
            share: backing?.access === undefined ? undefined : backing.access === 'shared',
            discard: backing?.discard,
            nodes: nodesFor(def, undefined),
            prealloc: preallocOf(def, pageKiB),
            canonical: false,
          },
          paths,
        ),
      ),
    );
  }
  const sizes = cellSizesKiB(def);
  (layout?.cells ?? []).forEach((cell, i) => {
    const pageKiB = cellPageKiB(def, i, defaultKiB);
    const access = cell.memAccess ?? backing?.access;
    const id = `ram-node${cell.id}`;
    args.push(
      '-object',
      JSON.stringify(
        backend(
          def,
          {
            id,
            sizeBytes: sizes[i] * 1024,
            pageKiB,
            share: access === undefined ? undefined : access === 'shared',
            discard: cell.discard ?? backing?.discard,
            nodes: nodesFor(def, cell.id),
            prealloc: preallocOf(def, pageKiB),
          },
          paths,
        ),
      ),
    );
    const hmat = hasHmat(layout?.cells, layout?.interconnects) ? [`initiator=${nodeInitiator(layout?.cells ?? [], layout?.interconnects, cell.id)}`] : [];
    args.push('-numa', ['node', `nodeid=${cell.id}`, ...(cell.cpus ? cpuRanges(cell.cpus) : []), ...hmat, `memdev=${id}`].join(','));
  });
  for (const cell of layout?.cells ?? []) {
    for (const d of cell.distances ?? []) args.push('-numa', `dist,src=${cell.id},dst=${d.id},val=${d.value}`);
  }
  if (layout?.cells) args.push(...hmatArgs(layout.cells, layout.interconnects));
  return args;
}

/** libvirt aligns DIMM-like devices to 2 MiB on x86 (virtio-mem sizes are multiples of their block already). */
function alignedKiB(m: MemoryDeviceDefinition): number {
  return m.model === 'virtio-mem' ? m.sizeKiB : Math.ceil(m.sizeKiB / 2048) * 2048;
}

const DRIVER: Record<MemoryDeviceDefinition['model'], string> = {
  dimm: 'pc-dimm',
  nvdimm: 'nvdimm',
  'virtio-mem': 'virtio-mem-pci',
  'virtio-pmem': 'virtio-pmem-pci',
};

/** -object memory-backend-* + -device for each <memory> device, as libvirt builds them. */
export function memoryDeviceArgs(def: DomainDefinition, q35: boolean, paths: MemoryPaths | undefined): string[] {
  const args: string[] = [];
  const defaultKiB = paths?.defaultHugepageKiB ?? 2048;
  (def.devices.memories ?? []).forEach((m, i) => {
    const alias = m.alias ?? `${m.model.replace('-', '')}${i}`;
    const memdev = `mem${alias}`;
    const pageKiB = devicePageKiB(def, m, defaultKiB);
    const access = m.access ?? def.memoryLayout?.backing?.access;
    const file = m.model === 'nvdimm' || m.model === 'virtio-pmem';
    const share = file ? (m.model === 'virtio-pmem' ? access !== 'private' : access === 'shared') : access === undefined ? undefined : access === 'shared';
    const nodes =
      m.nodemask !== undefined ? { mode: 'strict' as const, nodeset: m.nodemask } : m.node === undefined ? nodesFor(def, undefined) : nodesFor(def, m.node);
    const prealloc = m.model === 'virtio-mem' ? false : m.model === 'nvdimm' ? !m.pmem : m.model === 'virtio-pmem' ? false : preallocOf(def, pageKiB);
    const extra: Record<string, unknown> = {};
    if (m.model === 'virtio-mem') extra.reserve = false;
    if (m.alignsizeKiB !== undefined) extra.align = m.alignsizeKiB * 1024;
    if (m.pmem) extra.pmem = true;
    const props = backend(
      def,
      { id: memdev, sizeBytes: alignedKiB(m) * 1024, pageKiB, share, path: m.path, discard: m.discard, nodes, prealloc, extra },
      paths,
    );
    // QEMU wants reserve before size; key order does not matter to QEMU, but keep libvirt's shape.
    args.push('-object', JSON.stringify(props));
    const dev: Record<string, unknown> = { driver: DRIVER[m.model] };
    if (m.node !== undefined && m.model !== 'virtio-pmem') dev.node = m.node;
    if (m.labelSizeKiB !== undefined) dev['label-size'] = m.labelSizeKiB * 1024;
    if (m.readonly) dev.unarmed = true;
    if (m.blockKiB !== undefined) dev['block-size'] = m.blockKiB * 1024;
    if (m.requestedKiB !== undefined) dev['requested-size'] = m.requestedKiB * 1024;
    dev.memdev = memdev;
    if (m.model === 'virtio-mem' && pageKiB !== undefined && def.memoryLayout?.backing?.allocation?.mode !== 'ondemand') dev.prealloc = true;
    if (m.memaddr !== undefined) dev.memaddr = m.memaddr;
    if (m.dynamicMemslots) dev['dynamic-memslots'] = true;
    dev.id = alias;
    if (m.dimm?.slot !== undefined) dev.slot = m.dimm.slot;
    if (m.dimm?.base !== undefined) dev.addr = m.dimm.base;
    const { driver, ...rest } = dev;
    const device = [String(driver), ...Object.entries(rest).map(([k, v]) => `${k}=${v}`), ...(m.address ? pciProps(m.address, q35) : [])].join(',');
    args.push('-device', device);
  });
  return args;
}
