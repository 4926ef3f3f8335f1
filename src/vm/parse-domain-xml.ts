import { randomUUID } from 'node:crypto';
import { child, childrenNamed, type XmlElement } from '../shared/xml.js';
import {
  type BootDevice,
  type ConsoleDefinition,
  type CpuDefinition,
  type CrashAction,
  DISK_BUSES,
  DISK_CACHE_MODES,
  DISK_FORMATS,
  DISK_IO_MODES,
  type DiskDefinition,
  type DomainDefinition,
  type HostdevDefinition,
  type InterfaceDefinition,
  type LifecycleAction,
  NETWORK_DISK_PROTOCOLS,
  NIC_MODELS,
  type PanicDefinition,
  type SerialDefinition,
} from './definition.js';
import { macFromUuid, normalizeMac, normalizeUuid } from './identifiers.js';
import { toKiB } from './memory-units.js';
import { parseXmlDocument, xmlInvalid, xmlUnsupported } from './xml-errors.js';

/** Top-level elements ferry keeps verbatim without acting on them. */
const KEPT_TOP_LEVEL = new Set([
  'metadata', 'features', 'clock', 'pm', 'seclabel', 'resource', 'sysinfo', 'iothreads', 'cputune', 'genid', 'keywrap',
]);
/** Device elements ferry keeps verbatim without acting on them. */
const KEPT_DEVICES = new Set([
  'controller', 'input', 'graphics', 'video', 'memballoon', 'channel', 'sound', 'audio', 'rng', 'watchdog',
  'redirdev', 'redirfilter', 'parallel', 'hub',
]);

/**
 * Parses libvirt domain XML into a DomainDefinition. Malformed XML, invalid
 * values and unsupported elements that would change what the VM is all fail
 * with a coded error naming the element.
 */
export function parseDomainXml(source: string): DomainDefinition {
  const root = parseXmlDocument(source);
  if (root.name !== 'domain') throw xmlInvalid(root.name, `expected root element <domain>, found <${root.name}>`);
  return parseDomain(root);
}

function parseDomain(root: XmlElement): DomainDefinition {
  const type = root.attrs.type;
  if (type === undefined) throw xmlInvalid('domain', 'missing domain type attribute');
  if (type !== 'kvm' && type !== 'qemu') throw xmlUnsupported(`domain type='${type}'`, "is not supported (use 'kvm' or 'qemu')");

  const extras: XmlElement[] = [];
  let clockOffset: DomainDefinition['clockOffset'];
  for (const c of root.children) {
    if (KNOWN_TOP_LEVEL.has(c.name)) continue;
    if (!KEPT_TOP_LEVEL.has(c.name)) throw xmlUnsupported(c.name);
    extras.push(c);
    if (c.name === 'clock') clockOffset = parseClockOffset(c);
  }

  const name = requiredText(root, 'name', 'domain');
  if (name.includes('/')) throw xmlInvalid('name', `name '${name}' cannot contain '/'`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f]/.test(name) || name.length > 200) throw xmlInvalid('name', `invalid domain name '${name}'`);
  const uuidText = child(root, 'uuid')?.text;
  const uuid = uuidText ? normalizeUuid(uuidText) : randomUUID();
  if (uuid === undefined) throw xmlInvalid('uuid', `malformed uuid '${uuidText}'`);

  const memoryEl = child(root, 'memory');
  if (!memoryEl) throw xmlInvalid('domain', 'missing <memory>');
  const memoryKiB = toKiB(memoryEl.text, memoryEl.attrs.unit, 'memory');
  const currentEl = child(root, 'currentMemory');
  const currentMemoryKiB = currentEl ? toKiB(currentEl.text, currentEl.attrs.unit, 'currentMemory') : memoryKiB;
  if (currentMemoryKiB > memoryKiB) throw xmlInvalid('currentMemory', 'current memory exceeds maximum memory');

  const vcpuEl = child(root, 'vcpu');
  const vcpus = vcpuEl ? positiveInt(vcpuEl.text, 'vcpu') : 1;

  const title = child(root, 'title')?.text;
  const description = child(root, 'description')?.text;
  const def: DomainDefinition = {
    type,
    name,
    uuid,
    memoryKiB,
    currentMemoryKiB,
    vcpus,
    os: parseOs(child(root, 'os')),
    onPoweroff: lifecycle(root, 'on_poweroff', 'destroy'),
    onReboot: lifecycle(root, 'on_reboot', 'restart'),
    onCrash: crashAction(root),
    devices: parseDevices(child(root, 'devices')),
    extras,
  };
  if (title !== undefined) def.title = title;
  if (description !== undefined) def.description = description;
  if (clockOffset !== undefined) def.clockOffset = clockOffset;
  const lockFailure = child(root, 'on_lockfailure')?.text;
  if (lockFailure !== undefined) def.onLockFailure = oneOf(lockFailure, ['poweroff', 'restart', 'pause', 'ignore'] as const, 'on_lockfailure', 'value');
  const cpu = child(root, 'cpu');
  if (cpu) def.cpu = parseCpu(cpu, vcpus);
  def.devices.interfaces.forEach((iface, i) => {
    if (iface.mac === '') iface.mac = macFromUuid(uuid, i);
  });
  return def;
}

const KNOWN_TOP_LEVEL = new Set([
  'name', 'uuid', 'title', 'description', 'memory', 'currentMemory', 'vcpu', 'os', 'cpu',
  'on_poweroff', 'on_reboot', 'on_crash', 'on_lockfailure', 'devices',
]);

function parseClockOffset(clock: XmlElement): DomainDefinition['clockOffset'] {
  const offset = clock.attrs.offset ?? 'utc';
  if (offset !== 'utc' && offset !== 'localtime') throw xmlUnsupported(`clock offset='${offset}'`);
  return offset;
}

function parseOs(os: XmlElement | undefined): DomainDefinition['os'] {
  if (!os) throw xmlInvalid('domain', 'missing <os>');
  const typeEl = child(os, 'type');
  if (!typeEl) throw xmlInvalid('os', 'missing <type>');
  if (typeEl.text !== 'hvm') throw xmlUnsupported(`os type '${typeEl.text}'`, "is not supported (only 'hvm')");
  const arch = typeEl.attrs.arch ?? 'x86_64';
  if (arch !== 'x86_64') throw xmlUnsupported(`type arch='${arch}'`, 'is not supported (only x86_64)');
  const boot: BootDevice[] = [];
  const result: DomainDefinition['os'] = { arch, boot };
  for (const c of os.children) {
    switch (c.name) {
      case 'type':
        break;
      case 'kernel':
        result.kernel = nonEmpty(c, 'kernel');
        break;
      case 'initrd':
        result.initrd = nonEmpty(c, 'initrd');
        break;
      case 'cmdline':
        result.cmdline = c.text;
        break;
      case 'boot': {
        const dev = c.attrs.dev;
        if (dev !== 'hd' && dev !== 'cdrom' && dev !== 'network' && dev !== 'fd') {
          throw xmlInvalid('boot', `invalid boot device '${dev ?? ''}'`);
        }
        boot.push(dev);
        break;
      }
      default:
        throw xmlUnsupported(`os/${c.name}`);
    }
  }
  if (typeEl.attrs.machine) result.machine = typeEl.attrs.machine;
  if (os.attrs.firmware) throw xmlUnsupported(`os firmware='${os.attrs.firmware}'`);
  return result;
}

function parseCpu(cpu: XmlElement, vcpus: number): CpuDefinition {
  const model = child(cpu, 'model');
  const mode = cpu.attrs.mode ?? (model ? 'custom' : 'host-model');
  if (mode !== 'host-passthrough' && mode !== 'host-model' && mode !== 'custom' && mode !== 'maximum') {
    throw xmlInvalid('cpu', `invalid cpu mode '${mode}'`);
  }
  if (mode === 'custom' && !model?.text) throw xmlInvalid('cpu', "mode='custom' needs a <model>");
  const result: CpuDefinition = { mode, features: [] };
  if (model?.text) result.model = model.text;
  if (model?.attrs.fallback === 'allow' || model?.attrs.fallback === 'forbid') result.fallback = model.attrs.fallback;
  if (cpu.attrs.check) result.check = cpu.attrs.check;
  if (cpu.attrs.migratable === 'on' || cpu.attrs.migratable === 'off') result.migratable = cpu.attrs.migratable;
  for (const c of cpu.children) {
    if (c.name === 'model' || c.name === 'vendor' || c.name === 'cache') continue;
    if (c.name === 'topology') {
      const t = {
        sockets: positiveInt(c.attrs.sockets ?? '1', 'topology'),
        dies: positiveInt(c.attrs.dies ?? '1', 'topology'),
        cores: positiveInt(c.attrs.cores ?? '1', 'topology'),
        threads: positiveInt(c.attrs.threads ?? '1', 'topology'),
      };
      if (t.sockets * t.dies * t.cores * t.threads !== vcpus) {
        throw xmlInvalid('topology', `CPU topology doesn't match maximum vcpu count (${vcpus})`);
      }
      result.topology = t;
    } else if (c.name === 'feature') {
      const policy = c.attrs.policy ?? 'require';
      if (!['require', 'disable', 'force', 'optional', 'forbid'].includes(policy) || !c.attrs.name) {
        throw xmlInvalid('feature', `invalid CPU feature '${c.attrs.name ?? ''}' policy '${policy}'`);
      }
      result.features.push({ policy: policy as CpuDefinition['features'][number]['policy'], name: c.attrs.name });
    } else {
      throw xmlUnsupported(`cpu/${c.name}`);
    }
  }
  return result;
}

function parseDevices(devices: XmlElement | undefined): DomainDefinition['devices'] {
  const result: DomainDefinition['devices'] = {
    disks: [], interfaces: [], serials: [], consoles: [], hostdevs: [], panics: [], extras: [],
  };
  if (!devices) return result;
  for (const c of devices.children) {
    switch (c.name) {
      case 'emulator':
        result.emulator = nonEmpty(c, 'emulator');
        break;
      case 'disk':
        result.disks.push(parseDisk(c));
        break;
      case 'interface':
        result.interfaces.push(parseInterface(c));
        break;
      case 'serial':
        result.serials.push(parseSerial(c, result.serials.length));
        break;
      case 'console':
        result.consoles.push(parseConsole(c));
        break;
      case 'hostdev':
        result.hostdevs.push(parseHostdev(c));
        break;
      case 'panic':
        result.panics.push(parsePanic(c));
        break;
      default:
        if (!KEPT_DEVICES.has(c.name)) throw xmlUnsupported(`devices/${c.name}`);
        result.extras.push(c);
    }
  }
  const targets = new Set<string>();
  for (const d of result.disks) {
    if (targets.has(d.target.dev)) throw xmlInvalid('target', `target '${d.target.dev}' duplicated for disk sources`);
    targets.add(d.target.dev);
  }
  return result;
}

function parseDisk(disk: XmlElement): DiskDefinition {
  const type = disk.attrs.type;
  if (type !== 'file' && type !== 'block' && type !== 'network' && type !== 'volume') {
    throw type === undefined ? xmlInvalid('disk', 'missing type attribute') : xmlUnsupported(`disk type='${type}'`);
  }
  const device = disk.attrs.device ?? 'disk';
  if (device !== 'disk' && device !== 'cdrom' && device !== 'lun') throw xmlUnsupported(`disk device='${device}'`);

  const driver = child(disk, 'driver');
  if (driver && driver.attrs.name !== undefined && driver.attrs.name !== 'qemu') {
    throw xmlUnsupported(`driver name='${driver.attrs.name}'`);
  }
  const format = oneOf(driver?.attrs.type ?? 'raw', DISK_FORMATS, 'driver', 'type');
  const targetEl = child(disk, 'target');
  const dev = targetEl?.attrs.dev;
  if (!targetEl || !dev) throw xmlInvalid('disk', 'missing <target dev=...>');
  if (!/^[a-z]+[a-z0-9]*$/.test(dev)) throw xmlInvalid('target', `invalid target dev '${dev}'`);
  const bus = oneOf(targetEl.attrs.bus ?? defaultBus(dev), DISK_BUSES, 'target', 'bus');

  const result: DiskDefinition = {
    type,
    device,
    format,
    source: {},
    target: { dev, bus },
    readonly: false,
    shareable: false,
  };
  if (driver?.attrs.cache) result.cache = oneOf(driver.attrs.cache, DISK_CACHE_MODES, 'driver', 'cache');
  if (driver?.attrs.io) result.io = oneOf(driver.attrs.io, DISK_IO_MODES, 'driver', 'io');
  if (driver?.attrs.discard) result.discard = oneOf(driver.attrs.discard, ['ignore', 'unmap'] as const, 'driver', 'discard');

  for (const c of disk.children) {
    switch (c.name) {
      case 'driver':
      case 'target':
        break;
      case 'source':
        result.source = parseDiskSource(type, c);
        break;
      case 'readonly':
        result.readonly = true;
        break;
      case 'shareable':
        result.shareable = true;
        break;
      case 'serial':
        result.serial = c.text;
        break;
      case 'boot':
        result.bootOrder = positiveInt(c.attrs.order ?? '', 'boot');
        break;
      case 'address':
        result.address = c;
        break;
      case 'alias':
        break;
      default:
        throw xmlUnsupported(`disk/${c.name}`);
    }
  }
  if (device === 'cdrom') result.readonly = true;
  if (result.io === 'native' && result.cache !== 'none' && result.cache !== 'directsync') {
    throw xmlInvalid('driver', `disk '${dev}': native I/O needs either no disk cache or directsync cache mode`);
  }
  const needsSource = device !== 'cdrom';
  if (needsSource && Object.keys(result.source).length === 0) throw xmlInvalid('disk', `disk '${dev}' has no <source>`);
  return result;
}

function defaultBus(dev: string): string {
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('sd')) return 'scsi';
  return 'sata';
}

function parseDiskSource(type: DiskDefinition['type'], source: XmlElement): DiskDefinition['source'] {
  switch (type) {
    case 'file':
      if (!source.attrs.file) throw xmlInvalid('source', "disk type='file' needs file=");
      return { file: source.attrs.file };
    case 'block':
      if (!source.attrs.dev) throw xmlInvalid('source', "disk type='block' needs dev=");
      return { dev: source.attrs.dev };
    case 'volume':
      if (!source.attrs.pool || !source.attrs.volume) throw xmlInvalid('source', "disk type='volume' needs pool= and volume=");
      return { pool: source.attrs.pool, volume: source.attrs.volume };
    case 'network': {
      const protocol = oneOf(source.attrs.protocol ?? '', NETWORK_DISK_PROTOCOLS, 'source', 'protocol');
      const hosts = childrenNamed(source, 'host').map((h) => {
        const host: NonNullable<DiskDefinition['source']['hosts']>[number] = { name: h.attrs.name ?? '' };
        if (h.attrs.port) host.port = positiveInt(h.attrs.port, 'host');
        if (h.attrs.transport === 'tcp' || h.attrs.transport === 'unix') host.transport = h.attrs.transport;
        if (h.attrs.socket) host.socket = h.attrs.socket;
        if (!host.name && !host.socket) throw xmlInvalid('host', 'missing name=');
        return host;
      });
      if (hosts.length === 0) throw xmlInvalid('source', `network disk protocol '${protocol}' needs a <host>`);
      const result: DiskDefinition['source'] = { protocol, hosts };
      if (source.attrs.name) result.name = source.attrs.name;
      if (protocol !== 'nbd' && !result.name) throw xmlInvalid('source', `protocol '${protocol}' needs name=`);
      for (const c of source.children) if (c.name !== 'host') throw xmlUnsupported(`source/${c.name}`);
      return result;
    }
  }
}

function parseInterface(iface: XmlElement): InterfaceDefinition {
  const type = iface.attrs.type;
  if (type !== 'bridge' && type !== 'network' && type !== 'user') {
    throw type === undefined ? xmlInvalid('interface', 'missing type attribute') : xmlUnsupported(`interface type='${type}'`);
  }
  const result: InterfaceDefinition = { type, mac: '', model: 'virtio', source: {} };
  for (const c of iface.children) {
    switch (c.name) {
      case 'mac': {
        const mac = normalizeMac(c.attrs.address ?? '');
        if (!mac) throw xmlInvalid('mac', `unable to parse mac address '${c.attrs.address ?? ''}'`);
        result.mac = mac;
        break;
      }
      case 'source':
        if (type === 'bridge') {
          if (!c.attrs.bridge) throw xmlInvalid('source', "interface type='bridge' needs bridge=");
          result.source = { bridge: c.attrs.bridge };
        } else if (type === 'network') {
          if (!c.attrs.network) throw xmlInvalid('source', "interface type='network' needs network=");
          // bridge= is the live XML's record of the bridge the network gave this host (libvirt shows it too).
          result.source = { network: c.attrs.network, ...(c.attrs.bridge ? { bridge: c.attrs.bridge } : {}) };
        }
        break;
      case 'model':
        result.model = oneOf(c.attrs.type ?? '', NIC_MODELS, 'model', 'type');
        break;
      case 'target':
        if (c.attrs.dev) result.targetDev = c.attrs.dev;
        break;
      case 'boot':
        result.bootOrder = positiveInt(c.attrs.order ?? '', 'boot');
        break;
      case 'address':
        result.address = c;
        break;
      case 'alias':
        break;
      default:
        throw xmlUnsupported(`interface/${c.name}`);
    }
  }
  if (type === 'bridge' && !result.source.bridge) throw xmlInvalid('interface', "type='bridge' needs <source bridge=...>");
  if (type === 'network' && !result.source.network) throw xmlInvalid('interface', "type='network' needs <source network=...>");
  return result;
}

function parseSerial(serial: XmlElement, index: number): SerialDefinition {
  const type = serial.attrs.type ?? 'pty';
  if (type !== 'pty' && type !== 'file' && type !== 'unix' && type !== 'null') throw xmlUnsupported(`serial type='${type}'`);
  const result: SerialDefinition = { type, port: index };
  for (const c of serial.children) {
    switch (c.name) {
      case 'source':
        if (c.attrs.path) result.sourcePath = c.attrs.path;
        if (c.attrs.mode === 'bind' || c.attrs.mode === 'connect') result.sourceMode = c.attrs.mode;
        break;
      case 'target':
        if (c.attrs.port !== undefined) result.port = nonNegativeInt(c.attrs.port, 'target');
        break;
      case 'log':
        if (!c.attrs.file) throw xmlInvalid('log', 'missing file=');
        result.logFile = c.attrs.file;
        result.logAppend = c.attrs.append === 'on';
        break;
      case 'alias':
      case 'address':
        break;
      default:
        throw xmlUnsupported(`serial/${c.name}`);
    }
  }
  if ((type === 'file' || type === 'unix') && !result.sourcePath) throw xmlInvalid('serial', `serial type='${type}' needs <source path=...>`);
  return result;
}

function parseConsole(console: XmlElement): ConsoleDefinition {
  const type = console.attrs.type ?? 'pty';
  if (type !== 'pty' && type !== 'file' && type !== 'unix' && type !== 'null') throw xmlUnsupported(`console type='${type}'`);
  const target = child(console, 'target');
  const targetType = target?.attrs.type ?? 'serial';
  if (targetType !== 'serial') throw xmlUnsupported(`console target type='${targetType}'`);
  return { type, targetType, port: target?.attrs.port === undefined ? 0 : nonNegativeInt(target.attrs.port, 'target') };
}

function parseHostdev(hostdev: XmlElement): HostdevDefinition {
  const mode = hostdev.attrs.mode ?? 'subsystem';
  if (mode !== 'subsystem') throw xmlUnsupported(`hostdev mode='${mode}'`);
  const type = hostdev.attrs.type;
  if (type !== 'pci' && type !== 'usb' && type !== 'mdev' && type !== 'scsi') {
    throw xmlUnsupported(`hostdev type='${type ?? ''}'`);
  }
  const source = child(hostdev, 'source');
  if (!source) throw xmlInvalid('hostdev', 'missing <source>');
  let address = '';
  if (type === 'pci') {
    const a = child(source, 'address');
    if (!a) throw xmlInvalid('source', 'PCI hostdev needs <address domain= bus= slot= function=>');
    const hex = (v: string | undefined, width: number): string => (v ? Number.parseInt(v, 16) : 0).toString(16).padStart(width, '0');
    address = `${hex(a.attrs.domain, 4)}:${hex(a.attrs.bus, 2)}:${hex(a.attrs.slot, 2)}.${hex(a.attrs.function, 1)}`;
  } else if (type === 'usb') {
    const v = child(source, 'vendor')?.attrs.id;
    const p = child(source, 'product')?.attrs.id;
    const a = child(source, 'address');
    address = v && p ? `${v}:${p}` : a ? `bus ${a.attrs.bus} device ${a.attrs.device}` : '';
    if (!address) throw xmlInvalid('source', 'USB hostdev needs <vendor>/<product> or <address>');
  } else if (type === 'mdev') {
    address = child(source, 'address')?.attrs.uuid ?? '';
    if (!address) throw xmlInvalid('source', 'mdev hostdev needs <address uuid=...>');
  } else {
    const a = child(source, 'adapter')?.attrs.name;
    const addr = child(source, 'address');
    address = `${a ?? '?'} ${addr?.attrs.bus ?? 0}:${addr?.attrs.target ?? 0}:${addr?.attrs.unit ?? 0}`;
  }
  const result: HostdevDefinition = { mode, type, managed: hostdev.attrs.managed === 'yes', address, element: hostdev };
  if (hostdev.attrs.model) result.model = hostdev.attrs.model;
  return result;
}

function parsePanic(panic: XmlElement): PanicDefinition {
  const model = panic.attrs.model ?? 'isa';
  if (model !== 'isa' && model !== 'pvpanic' && model !== 'hyperv') throw xmlUnsupported(`panic model='${model}'`);
  return { model };
}

function lifecycle(root: XmlElement, name: string, fallback: LifecycleAction): LifecycleAction {
  const text = child(root, name)?.text;
  if (text === undefined) return fallback;
  return oneOf(text, ['destroy', 'restart', 'preserve', 'rename-restart'] as const, name, 'value');
}

function crashAction(root: XmlElement): CrashAction {
  const text = child(root, 'on_crash')?.text;
  if (text === undefined) return 'destroy';
  return oneOf(
    text,
    ['destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart'] as const,
    'on_crash',
    'value',
  );
}

function requiredText(parent: XmlElement, name: string, parentName: string): string {
  const text = child(parent, name)?.text;
  if (!text) throw xmlInvalid(parentName, `missing <${name}>`);
  return text;
}

function nonEmpty(el: XmlElement, name: string): string {
  if (!el.text) throw xmlInvalid(name, 'empty value');
  return el.text;
}

function positiveInt(value: string, element: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw xmlInvalid(element, `invalid value '${value}' (expected a positive integer)`);
  }
  return n;
}

function nonNegativeInt(value: string, element: string): number {
  return value.trim() === '0' ? 0 : positiveInt(value, element);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], element: string, attr: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw xmlInvalid(element, `unknown ${attr} '${value}' (expected one of ${allowed.join(', ')})`);
}
