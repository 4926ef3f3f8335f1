import { child, childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import {
  DISK_BUSES, DISK_CACHE_MODES, DISK_FORMATS, DISK_IO_MODES, type DiskDefinition, NETWORK_DISK_PROTOCOLS,
} from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { oneOf, positiveInt } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

export const DISK_RULE: ElementRule = {
  attrs: { type: ['file', 'block', 'network', 'volume'], device: ['disk', 'cdrom', 'lun'] },
  label: (e) => `<disk> '${child(e, 'target')?.attrs.dev ?? '?'}'`,
  children: {
    driver: { attrs: { name: ['qemu'], type: DISK_FORMATS, cache: DISK_CACHE_MODES, io: DISK_IO_MODES, discard: ['ignore', 'unmap'] } },
    source: {
      attrs: { file: true, dev: true, protocol: NETWORK_DISK_PROTOCOLS, name: true, pool: true, volume: true },
      children: { host: { attrs: { name: true, port: true, transport: ['tcp', 'unix'], socket: true } } },
    },
    target: { attrs: { dev: true, bus: DISK_BUSES } },
    readonly: {},
    shareable: {},
    serial: {},
    boot: { attrs: { order: true } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseDisk(disk: XmlElement): DiskDefinition {
  // A disk without type= is a file, as in libvirt.
  const type = disk.attrs.type ?? 'file';
  if (type !== 'file' && type !== 'block' && type !== 'network' && type !== 'volume') throw xmlUnsupported(`disk type='${type}'`);
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
        Object.assign(result, parsePlacement(disk, `<disk> '${dev}'`));
        break;
      case 'alias':
        break;
      default:
        break; // unsupportedParts() names it
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
      return result;
    }
  }
}


/** The disk as libvirt writes it; `live` adds its <alias>. */
export function renderDisk(disk: DiskDefinition, live = false): XmlElement {
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
    ...renderPlacement(disk, live),
  ]);
}
