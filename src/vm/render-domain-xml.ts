import { el, renderXml, type XmlElement } from '../shared/xml.js';
import type { DiskDefinition, DomainDefinition, InterfaceDefinition, SerialDefinition } from './definition.js';

export interface RenderOptions {
  /** The running domain's id, shown as <domain id=...> (live XML only). */
  id?: number;
}

/** Libvirt's order of top-level elements; extras are slotted in by name. */
const TOP_LEVEL_ORDER = [
  'name', 'uuid', 'genid', 'title', 'description', 'metadata', 'memory', 'currentMemory', 'vcpu', 'iothreads',
  'cputune', 'resource', 'sysinfo', 'os', 'features', 'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'on_lockfailure', 'pm',
  'devices', 'seclabel', 'keywrap',
];
const DEVICE_ORDER = [
  'emulator', 'disk', 'controller', 'interface', 'serial', 'parallel', 'console', 'channel', 'input', 'graphics',
  'sound', 'audio', 'video', 'hostdev', 'redirdev', 'redirfilter', 'hub', 'watchdog', 'memballoon', 'rng', 'panic',
];

/** Renders a definition as libvirt domain XML; parseDomainXml() of the result gives back the same definition. */
export function renderDomainXml(def: DomainDefinition, options: RenderOptions = {}): string {
  const top: XmlElement[] = [
    el('name', {}, def.name),
    el('uuid', {}, def.uuid),
    def.title === undefined ? undefined : el('title', {}, def.title),
    def.description === undefined ? undefined : el('description', {}, def.description),
    el('memory', { unit: 'KiB' }, String(def.memoryKiB)),
    el('currentMemory', { unit: 'KiB' }, String(def.currentMemoryKiB)),
    el('vcpu', { placement: 'static' }, String(def.vcpus)),
    renderOs(def),
    def.cpu ? renderCpu(def.cpu) : undefined,
    el('on_poweroff', {}, def.onPoweroff),
    el('on_reboot', {}, def.onReboot),
    el('on_crash', {}, def.onCrash),
    def.onLockFailure === undefined ? undefined : el('on_lockfailure', {}, def.onLockFailure),
    renderDevices(def),
    ...def.extras,
  ].filter((e): e is XmlElement => e !== undefined);
  const root = el('domain', { type: def.type, id: options.id }, sortBy(top, TOP_LEVEL_ORDER));
  return renderXml(root);
}

function renderOs(def: DomainDefinition): XmlElement {
  const os = def.os;
  return el('os', {}, [
    el('type', { arch: os.arch, machine: os.machine }, 'hvm'),
    os.kernel === undefined ? undefined : el('kernel', {}, os.kernel),
    os.initrd === undefined ? undefined : el('initrd', {}, os.initrd),
    os.cmdline === undefined ? undefined : el('cmdline', {}, os.cmdline),
    ...os.boot.map((dev) => el('boot', { dev })),
  ]);
}

function renderCpu(cpu: NonNullable<DomainDefinition['cpu']>): XmlElement {
  return el('cpu', { mode: cpu.mode, check: cpu.check, migratable: cpu.migratable }, [
    cpu.model === undefined ? undefined : el('model', { fallback: cpu.fallback }, cpu.model),
    cpu.topology ? el('topology', { ...cpu.topology }) : undefined,
    ...cpu.features.map((f) => el('feature', { policy: f.policy, name: f.name })),
  ]);
}

function renderDevices(def: DomainDefinition): XmlElement {
  const d = def.devices;
  const children: XmlElement[] = [
    ...(d.emulator === undefined ? [] : [el('emulator', {}, d.emulator)]),
    ...d.disks.map(renderDisk),
    ...d.interfaces.map(renderInterface),
    ...d.serials.map(renderSerial),
    ...d.consoles.map((c) => el('console', { type: c.type }, [el('target', { type: c.targetType, port: c.port })])),
    ...d.hostdevs.map((h) => h.element),
    ...d.panics.map((p) => el('panic', { model: p.model })),
    ...d.extras,
  ];
  return el('devices', {}, sortBy(children, DEVICE_ORDER));
}

export function renderDisk(disk: DiskDefinition): XmlElement {
  const s = disk.source;
  let source: XmlElement | undefined;
  if (disk.type === 'file' && s.file) source = el('source', { file: s.file });
  if (disk.type === 'block' && s.dev) source = el('source', { dev: s.dev });
  if (disk.type === 'volume') source = el('source', { pool: s.pool, volume: s.volume });
  if (disk.type === 'network') {
    source = el(
      'source',
      { protocol: s.protocol, name: s.name },
      (s.hosts ?? []).map((h) => el('host', { name: h.name || undefined, port: h.port, transport: h.transport, socket: h.socket })),
    );
  }
  return el('disk', { type: disk.type, device: disk.device }, [
    el('driver', { name: 'qemu', type: disk.format, cache: disk.cache, io: disk.io, discard: disk.discard }),
    source,
    el('target', { dev: disk.target.dev, bus: disk.target.bus }),
    disk.bootOrder === undefined ? undefined : el('boot', { order: disk.bootOrder }),
    disk.readonly && disk.device !== 'cdrom' ? el('readonly') : undefined,
    disk.shareable ? el('shareable') : undefined,
    disk.serial === undefined ? undefined : el('serial', {}, disk.serial),
    disk.address,
  ]);
}

function renderInterface(iface: InterfaceDefinition): XmlElement {
  return el('interface', { type: iface.type }, [
    el('mac', { address: iface.mac }),
    iface.type === 'user' ? undefined : el('source', iface.type === 'network' ? { network: iface.source.network, bridge: iface.source.bridge } : { bridge: iface.source.bridge }),
    iface.targetDev === undefined ? undefined : el('target', { dev: iface.targetDev }),
    el('model', { type: iface.model }),
    iface.bootOrder === undefined ? undefined : el('boot', { order: iface.bootOrder }),
    iface.address,
  ]);
}

function renderSerial(serial: SerialDefinition): XmlElement {
  return el('serial', { type: serial.type }, [
    serial.sourcePath === undefined ? undefined : el('source', { mode: serial.sourceMode, path: serial.sourcePath }),
    serial.logFile === undefined ? undefined : el('log', { file: serial.logFile, append: serial.logAppend ? 'on' : 'off' }),
    el('target', { port: serial.port }),
  ]);
}

function sortBy(elements: XmlElement[], order: string[]): XmlElement[] {
  const rank = (e: XmlElement): number => {
    const i = order.indexOf(e.name);
    return i < 0 ? order.length : i;
  };
  return elements
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i)
    .map(({ e }) => e);
}
