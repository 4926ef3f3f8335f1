import { IOTHREADS_MAPPING_RULE, parseIothreadMapping, renderIothreadMapping } from './iothread-mapping.js';
import { child, childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import {
  CURL_DISK_PROTOCOLS,
  DISK_ERROR_POLICIES,
  DISK_FORMATS,
  type DiskDefinition,
  type DomainDefinition,
  NETWORK_DISK_PROTOCOLS,
  type NetworkDiskProtocol,
} from '../definition.js';
import { DISK_BUSES, DISK_CACHE_MODES, DISK_IO_MODES } from '../../shared/disk-modes.js';
import type { DefineProblem, ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { oneOf, optionalInt, positiveInt, yesNo } from '../xml-values.js';
import { ACPI_RULE, ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';
import { parseVirtioOptions, renderVirtioOptions, VIRTIO_OPTION_ATTRS } from './virtio-options.js';
import { iothreadIdsOf } from '../iothreads.js';
import {
  backingLayers,
  backingStoreRule,
  METADATA_CACHE_RULE,
  parseBackingStore,
  parseMetadataCache,
  renderBackingStore,
  renderMetadataCache,
} from './disk-backing.js';
import { AUTH_RULE, COOKIES_RULE, ENCRYPTION_RULE, parseDiskSecrets, renderAuth, renderEncryption, renderSourceSecrets } from './disk-secrets.js';
import { IOTUNE_RULE, iotuneProblems, parseIotune, renderIotune } from './disk-iotune.js';

const SOURCE_RULE: ElementRule = {
  attrs: {
    file: true,
    dev: true,
    protocol: NETWORK_DISK_PROTOCOLS,
    name: true,
    pool: true,
    volume: true,
    query: true,
    startupPolicy: ['mandatory', 'requisite', 'optional'],
  },
  children: {
    host: { attrs: { name: true, port: true, transport: ['tcp', 'unix'], socket: true } },
    reconnect: { attrs: { delay: true } },
    timeout: { attrs: { seconds: true } },
    readahead: { attrs: { size: true } },
    ssl: { attrs: { verify: ['yes', 'no'] } },
    // ssh: no keyfile= (QEMU's ssh driver authenticates through an ssh-agent only; libvirt runs nbdkit for a key file).
    knownHosts: { attrs: { path: true } },
    identity: { attrs: { username: true, agentsock: true } },
  },
};

export const DISK_RULE: ElementRule = {
  attrs: { type: ['file', 'block', 'network', 'volume'], device: ['disk', 'cdrom', 'lun', 'floppy'] },
  label: (e) => `<disk> '${child(e, 'target')?.attrs.dev ?? '?'}'`,
  children: {
    driver: {
      attrs: {
        name: ['qemu'],
        type: DISK_FORMATS,
        cache: DISK_CACHE_MODES,
        io: DISK_IO_MODES,
        discard: ['ignore', 'unmap'],
        error_policy: DISK_ERROR_POLICIES,
        rerror_policy: ['stop', 'report', 'ignore'],
        iothread: true,
        queues: true,
        queue_size: true,
        detect_zeroes: ['off', 'on', 'unmap'],
        copy_on_read: ['on', 'off'],
        discard_no_unref: ['on', 'off'],
        ioeventfd: ['on', 'off'],
        event_idx: ['on', 'off'],
        ...VIRTIO_OPTION_ATTRS,
      },
      children: { metadata_cache: METADATA_CACHE_RULE, iothreads: IOTHREADS_MAPPING_RULE },
    },
    geometry: { attrs: { cyls: true, heads: true, secs: true, trans: ['none', 'lba', 'auto'] } },
    // The disk's own source also takes its credentials, LUKS passphrase and cookies (not its backing layers').
    // (and, for nbd, TLS with this host's client certificate: tls, tlsHostname).
    source: {
      ...SOURCE_RULE,
      attrs: { ...SOURCE_RULE.attrs, tls: ['yes', 'no'], tlsHostname: true },
      children: { ...SOURCE_RULE.children, auth: AUTH_RULE, encryption: ENCRYPTION_RULE, cookies: COOKIES_RULE },
    },
    auth: AUTH_RULE,
    encryption: ENCRYPTION_RULE,
    // A backing layer's source takes cookies too (an http(s) chain may need them on every server).
    backingStore: backingStoreRule({ ...SOURCE_RULE, children: { ...SOURCE_RULE.children, cookies: COOKIES_RULE } }),
    target: { attrs: { dev: true, bus: DISK_BUSES, tray: ['open', 'closed'], removable: ['on', 'off'], rotation_rate: true } },
    readonly: {},
    shareable: {},
    transient: { attrs: { shareBacking: ['yes', 'no'] } },
    serial: {},
    wwn: {},
    vendor: {},
    product: {},
    blockio: { attrs: { logical_block_size: true, physical_block_size: true, discard_granularity: true } },
    boot: { attrs: { order: true } },
    iotune: IOTUNE_RULE,
    throttlefilters: { children: { throttlefilter: { attrs: { group: true } } } },
    alias: ALIAS_RULE,
    acpi: ACPI_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseDisk(disk: XmlElement): DiskDefinition {
  // A disk without type= is a file, as in libvirt.
  const type = disk.attrs.type ?? 'file';
  if (type !== 'file' && type !== 'block' && type !== 'network' && type !== 'volume') throw xmlUnsupported(`disk type='${type}'`);
  const device = disk.attrs.device ?? 'disk';
  if (device !== 'disk' && device !== 'cdrom' && device !== 'lun' && device !== 'floppy') throw xmlUnsupported(`disk device='${device}'`);

  const driver = child(disk, 'driver');
  if (driver && driver.attrs.name !== undefined && driver.attrs.name !== 'qemu') {
    throw xmlUnsupported(`driver name='${driver.attrs.name}'`);
  }
  const format = oneOf(driver?.attrs.type ?? 'raw', DISK_FORMATS, 'driver', 'type');
  const targetEl = child(disk, 'target');
  const dev = targetEl?.attrs.dev;
  if (!targetEl || !dev) throw xmlInvalid('disk', 'missing <target dev=...>');
  if (!/^[a-z]+[a-z0-9]*$/.test(dev)) throw xmlInvalid('target', `invalid target dev '${dev}'`);
  const bus = oneOf(targetEl.attrs.bus ?? defaultBus(dev, device), DISK_BUSES, 'target', 'bus');
  if ((device === 'floppy') !== (bus === 'fdc')) {
    throw xmlInvalid('target', `disk '${dev}': ${device === 'floppy' ? "a floppy needs bus='fdc'" : "bus 'fdc' holds only floppies (device='floppy')"}`);
  }

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
  parseDriverTuning(driver, result);
  const cache = parseMetadataCache(driver, format, dev);
  if (cache !== undefined) result.metadataCacheBytes = cache;
  if (driver?.attrs.discard_no_unref !== undefined) {
    if (format !== 'qcow2') throw xmlInvalid('driver', `disk '${dev}': discard_no_unref is for qcow2 images only`);
    result.discardNoUnref = driver.attrs.discard_no_unref === 'on';
  }
  parseTargetExtras(targetEl, result);

  for (const c of disk.children) {
    switch (c.name) {
      case 'driver':
      case 'target':
        break;
      case 'source':
        result.source = parseDiskSource(type, c);
        if (c.attrs.startupPolicy !== undefined) result.startupPolicy = parseStartupPolicy(c, result);
        break;
      case 'readonly':
        result.readonly = true;
        break;
      case 'shareable':
        result.shareable = true;
        break;
      case 'transient': {
        const share = yesNo(c.attrs.shareBacking, 'transient', 'shareBacking');
        result.transient = share === undefined ? {} : { shareBacking: share };
        break;
      }
      case 'serial':
        result.serial = c.text;
        break;
      case 'vendor':
      case 'product': {
        const max = c.name === 'vendor' ? 8 : 16;
        if (!/^[\x20-\x7e]+$/.test(c.text) || c.text.length > max) {
          throw xmlInvalid(c.name, `disk '${dev}': <${c.name}> must be at most ${max} printable ASCII characters`);
        }
        result[c.name] = c.text;
        break;
      }
      case 'wwn':
        if (!/^(0x)?[0-9a-fA-F]{16}$/.test(c.text)) throw xmlInvalid('wwn', `disk '${dev}': malformed wwn value '${c.text}' (16 hex digits)`);
        result.wwn = c.text;
        break;
      case 'blockio': {
        const b: NonNullable<DiskDefinition['blockio']> = {};
        const logical = optionalInt(c, 'logical_block_size', positiveInt);
        const physical = optionalInt(c, 'physical_block_size', positiveInt);
        const granularity = optionalInt(c, 'discard_granularity');
        if (logical !== undefined) b.logicalBlockSize = logical;
        if (physical !== undefined) b.physicalBlockSize = physical;
        if (granularity !== undefined) b.discardGranularity = granularity;
        result.blockio = b;
        break;
      }
      case 'backingStore':
        result.backingStore = parseBackingStore(c, dev, parseDiskSource);
        break;
      case 'geometry': {
        const g: NonNullable<DiskDefinition['geometry']> = {
          cyls: positiveInt(c.attrs.cyls ?? '', 'geometry'),
          heads: positiveInt(c.attrs.heads ?? '', 'geometry'),
          secs: positiveInt(c.attrs.secs ?? '', 'geometry'),
        };
        if (c.attrs.trans) g.trans = oneOf(c.attrs.trans, ['none', 'lba', 'auto'] as const, 'geometry', 'trans');
        result.geometry = g;
        break;
      }
      case 'iotune':
        result.iotune = parseIotune(c, dev);
        break;
      case 'throttlefilters':
        result.throttleFilters = childrenNamed(c, 'throttlefilter').map((f) => {
          if (!f.attrs.group) throw xmlInvalid('throttlefilter', `disk '${dev}': a <throttlefilter> needs group=`);
          return f.attrs.group;
        });
        break;
      case 'boot':
        result.bootOrder = positiveInt(c.attrs.order ?? '', 'boot');
        break;
      default:
        break; // address, alias, acpi: parsePlacement; anything else: unsupportedParts() names it
    }
  }
  Object.assign(result, parsePlacement(disk, `<disk> '${dev}'`));
  parseDiskSecrets(disk, result);
  if (device === 'cdrom') result.readonly = true;
  if (result.backingStore && result.format === 'raw')
    throw xmlInvalid('backingStore', `disk '${dev}': a raw image has no backing store (use <backingStore/> or format qcow2)`);
  if (result.tray !== undefined && device !== 'cdrom' && device !== 'floppy') throw xmlInvalid('target', `disk '${dev}': only a cdrom or floppy has a tray`);
  if (result.io === 'native' && result.cache !== 'none' && result.cache !== 'directsync') {
    throw xmlInvalid('driver', `disk '${dev}': native I/O needs either no disk cache or directsync cache mode`);
  }
  // A cdrom or floppy may be an empty drive (no medium in the tray).
  const needsSource = device !== 'cdrom' && device !== 'floppy';
  if (needsSource && Object.keys(result.source).length === 0) throw xmlInvalid('disk', `disk '${dev}' has no <source>`);
  return result;
}

function defaultBus(dev: string, device: string): string {
  if (dev.startsWith('fd') || device === 'floppy') return 'fdc';
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
    case 'network':
      return parseNetworkSource(source);
  }
}

/**
 * A network <source protocol=... name=...><host .../></source>: a disk's, a
 * backing layer's, or <nvram type='network'>'s (src/vm/firmware.ts).
 */
export function parseNetworkSource(source: XmlElement): DiskDefinition['source'] {
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
  parseCurlOptions(protocol, source, result);
  parseNbdTls(protocol, source, result);
  parseSshOptions(protocol, source, result);
  const reconnect = child(source, 'reconnect');
  if (reconnect) {
    if (protocol !== 'nbd') throw xmlInvalid('reconnect', `<reconnect> is for nbd disks only, not protocol '${protocol}'`);
    result.reconnectDelay = positiveInt(reconnect.attrs.delay ?? '', 'reconnect');
  }
  return result;
}

/** nbd's tls='yes'|'no' and tlsHostname= (the name the server's certificate must carry). */
function parseNbdTls(protocol: NetworkDiskProtocol, source: XmlElement, out: DiskDefinition['source']): void {
  const tls = yesNo(source.attrs.tls, 'source', 'tls');
  if (tls === undefined && source.attrs.tlsHostname === undefined) return;
  if (protocol !== 'nbd') throw xmlUnsupported('source', `tls= and tlsHostname= are supported for nbd disks only, not protocol '${protocol}'`);
  if (tls !== undefined) out.tls = tls;
  if (source.attrs.tlsHostname !== undefined) {
    if (tls !== true) throw xmlInvalid('source', "tlsHostname= needs tls='yes'");
    out.tlsHostname = source.attrs.tlsHostname;
  }
}

/** ssh <knownHosts path> and <identity username agentsock>; anything else's. */
function parseSshOptions(protocol: NetworkDiskProtocol, source: XmlElement, out: DiskDefinition['source']): void {
  const known = child(source, 'knownHosts');
  const identity = child(source, 'identity');
  if (protocol !== 'ssh') {
    if (known || identity)
      throw xmlInvalid(known ? 'knownHosts' : 'identity', `<${known ? 'knownHosts' : 'identity'}> is for ssh disks only, not protocol '${protocol}'`);
    return;
  }
  if (known) {
    if (!known.attrs.path?.startsWith('/')) throw xmlInvalid('knownHosts', '<knownHosts> needs an absolute path=');
    out.knownHosts = known.attrs.path;
  }
  if (identity) {
    const id: NonNullable<DiskDefinition['source']['identity']> = {};
    if (identity.attrs.username !== undefined) id.username = identity.attrs.username;
    if (identity.attrs.agentsock !== undefined) {
      if (!identity.attrs.agentsock.startsWith('/')) throw xmlInvalid('identity', '<identity agentsock=> needs an absolute path');
      id.agentsock = identity.attrs.agentsock;
    }
    out.identity = id;
  }
}

/** libvirt's rules: a local source only; 'requisite' is for a cdrom or floppy. */
function parseStartupPolicy(source: XmlElement, d: DiskDefinition): NonNullable<DiskDefinition['startupPolicy']> {
  const policy = oneOf(source.attrs.startupPolicy ?? '', ['mandatory', 'requisite', 'optional'] as const, 'source', 'startupPolicy');
  if (d.type === 'network') throw xmlInvalid('source', `disk '${d.target.dev}': startupPolicy is for file, block and volume disks, not network ones`);
  if (policy === 'requisite' && d.device !== 'cdrom' && d.device !== 'floppy') {
    throw xmlInvalid('source', `disk '${d.target.dev}': startupPolicy 'requisite' is for a cdrom or floppy only`);
  }
  return policy;
}

/** The curl driver's options of an http/https/ftp/ftps source: query, timeout, readahead, ssl verify. */
function parseCurlOptions(protocol: NetworkDiskProtocol, source: XmlElement, out: DiskDefinition['source']): void {
  const curl = (CURL_DISK_PROTOCOLS as readonly string[]).includes(protocol);
  const only = (what: string, ok: boolean, which: string): void => {
    if (!ok) throw xmlInvalid('source', `${what} is for ${which} disks only, not protocol '${protocol}'`);
  };
  if (source.attrs.query !== undefined) {
    only('query=', protocol === 'http' || protocol === 'https', 'http and https');
    out.query = source.attrs.query;
  }
  const timeout = child(source, 'timeout');
  if (timeout) {
    only('<timeout>', curl, 'http, https, ftp and ftps');
    out.timeoutSeconds = positiveInt(timeout.attrs.seconds ?? '', 'timeout');
  }
  const readahead = child(source, 'readahead');
  if (readahead) {
    only('<readahead>', curl, 'http, https, ftp and ftps');
    out.readahead = positiveInt(readahead.attrs.size ?? '', 'readahead');
  }
  const ssl = child(source, 'ssl');
  if (ssl) {
    only('<ssl>', protocol === 'https' || protocol === 'ftps', 'https and ftps');
    out.sslVerify = oneOf(ssl.attrs.verify ?? '', ['yes', 'no'] as const, 'ssl', 'verify') === 'yes';
  }
}

function parseDriverTuning(driver: XmlElement | undefined, d: DiskDefinition): void {
  if (!driver) return;
  const a = driver.attrs;
  if (a.error_policy) d.errorPolicy = oneOf(a.error_policy, DISK_ERROR_POLICIES, 'driver', 'error_policy');
  if (a.rerror_policy) d.rerrorPolicy = oneOf(a.rerror_policy, ['stop', 'report', 'ignore'] as const, 'driver', 'rerror_policy');
  const iothread = optionalInt(driver, 'iothread', positiveInt);
  if (iothread !== undefined) d.iothread = iothread;
  const mapping = child(driver, 'iothreads');
  if (mapping) {
    const owner = `<disk> '${d.target.dev}'`;
    if (iothread !== undefined) throw xmlInvalid('iothreads', `${owner}: <driver iothread=> and <iothreads> cannot be used together`);
    d.iothreadMapping = parseIothreadMapping(mapping, owner, optionalInt(driver, 'queues', positiveInt));
  }
  const queues = optionalInt(driver, 'queues', positiveInt);
  if (queues !== undefined) d.queues = queues;
  const queueSize = optionalInt(driver, 'queue_size', positiveInt);
  if (queueSize !== undefined) d.queueSize = queueSize;
  if (a.detect_zeroes) d.detectZeroes = oneOf(a.detect_zeroes, ['off', 'on', 'unmap'] as const, 'driver', 'detect_zeroes');
  if (a.copy_on_read) d.copyOnRead = a.copy_on_read === 'on';
  const ioeventfd = yesNo(a.ioeventfd, 'driver', 'ioeventfd');
  if (ioeventfd !== undefined) d.ioeventfd = ioeventfd;
  const eventIdx = yesNo(a.event_idx, 'driver', 'event_idx');
  if (eventIdx !== undefined) d.eventIdx = eventIdx;
  const virtio = parseVirtioOptions(driver);
  if (virtio) d.virtio = virtio;
}

function parseTargetExtras(target: XmlElement, d: DiskDefinition): void {
  const a = target.attrs;
  if (a.tray) d.tray = oneOf(a.tray, ['open', 'closed'] as const, 'target', 'tray');
  if (a.removable) d.removable = a.removable === 'on';
  const rotation = optionalInt(target, 'rotation_rate', positiveInt);
  if (rotation !== undefined) d.rotationRate = rotation;
}

/**
 * What a disk asks of the rest of the domain or of its bus, as libvirt checks
 * it: an iothread the domain has, virtio-only knobs on virtio disks, wwn and
 * rotation rate on the buses whose devices have them.
 */
export function diskProblems(def: DomainDefinition): DefineProblem[] {
  const out: DefineProblem[] = [];
  def.devices.disks.forEach((d, i) => {
    const device = `<disk> '${d.target.dev}'`;
    const at = (p: string, message: string): void => void out.push({ path: `/domain/devices/disk[${i + 1}]/${p}`, device, message });
    const bus = d.target.bus;
    if (d.iothread !== undefined && bus !== 'virtio') at('driver/@iothread', `iothreads are for virtio disks only, not bus '${bus}'`);
    if (d.ioeventfd === false && (d.iothread !== undefined || d.iothreadMapping))
      at('driver/@ioeventfd', "ioeventfd='off' cannot go with an iothread (QEMU: ioeventfd is required for iothread)");
    if (d.iothreadMapping && bus !== 'virtio') at('driver/iothreads', `iothreads are for virtio disks only, not bus '${bus}'`);
    for (const m of d.iothreadMapping ?? []) {
      if (!iothreadIdsOf(def).includes(m.iothread))
        at('driver/iothreads', `iothread ${m.iothread} is not defined (the domain has <iothreads>${def.iothreads ?? 0}</iothreads>)`);
    }
    if (d.iothread !== undefined && !iothreadIdsOf(def).includes(d.iothread)) {
      at('driver/@iothread', `iothread ${d.iothread} is not defined (the domain has <iothreads>${def.iothreads ?? 0}</iothreads>)`);
    }
    if ((d.queues !== undefined || d.queueSize !== undefined) && bus !== 'virtio')
      at('driver/@queues', `queues and queue_size are for virtio disks only, not bus '${bus}'`);
    if ((d.ioeventfd !== undefined || d.eventIdx !== undefined) && bus !== 'virtio')
      at(d.ioeventfd !== undefined ? 'driver/@ioeventfd' : 'driver/@event_idx', `ioeventfd and event_idx are for virtio disks only, not bus '${bus}'`);
    if (d.virtio !== undefined && bus !== 'virtio')
      at('driver', `virtio options (iommu, ats, packed, page_per_vq) are for virtio disks only, not bus '${bus}'`);
    if (d.wwn !== undefined && bus !== 'scsi' && bus !== 'ide' && bus !== 'sata') at('wwn', `only ide, sata and scsi disks have a wwn, not bus '${bus}'`);
    if (d.rotationRate !== undefined && bus !== 'scsi' && bus !== 'ide' && bus !== 'sata') {
      at('target/@rotation_rate', `only ide, sata and scsi disks have a rotation rate, not bus '${bus}'`);
    }
    if (d.geometry && bus !== 'ide' && bus !== 'sata' && bus !== 'scsi' && bus !== 'virtio') at('geometry', `a ${bus} drive has no geometry`);
    if (d.geometry?.trans !== undefined && bus !== 'ide' && bus !== 'sata')
      at('geometry/@trans', `only ide and sata drives have a BIOS translation, not bus '${bus}'`);
    if (d.vendor !== undefined && bus !== 'scsi') at('vendor', `only scsi disks have a vendor, not bus '${bus}'`);
    if (d.product !== undefined && bus !== 'scsi' && bus !== 'ide' && bus !== 'sata')
      at('product', `only ide, sata and scsi disks have a product, not bus '${bus}'`);
    if (d.type === 'network' && (CURL_DISK_PROTOCOLS as readonly string[]).includes(d.source.protocol ?? '') && !d.readonly) {
      at('source/@protocol', `QEMU reads ${d.source.protocol} disks read-only (its curl driver cannot write); add <readonly/>`);
    }
    if (backingLayers(d).some((l) => l.type === 'network' && l.source.protocol === 'ssh'))
      at('backingStore', 'an ssh layer under a disk is not supported (its host key is checked for the top source only); copy the layer locally');
    if (d.type === 'network' && d.source.protocol === 'ssh' && d.source.identity?.agentsock !== undefined && agentSockets(def).length > 1) {
      at(
        'source/identity/@agentsock',
        `QEMU's ssh disks share one ssh-agent (its SSH_AUTH_SOCK); this domain names ${agentSockets(def).length}: ${agentSockets(def).join(', ')}`,
      );
    }
    if (d.serial !== undefined && bus === 'fdc') at('serial', "QEMU's floppy drive has no serial number");
    if (d.transient) out.push(...transientProblems(d).map((message) => ({ path: `/domain/devices/disk[${i + 1}]/transient`, device, message })));
    if (d.removable !== undefined && bus !== 'usb') at('target/@removable', `removable is for usb disks only, not bus '${bus}'`);
    if (d.errorPolicy === undefined && d.rerrorPolicy === undefined) return;
    if (bus === 'fdc') at('driver/@error_policy', "QEMU's floppy drive has no error policy");
    if (d.device === 'lun') at('driver/@error_policy', 'a LUN passes errors to the guest as SCSI sense; it has no error policy');
  });
  def.devices.disks.forEach((d, i) => {
    const a = d.address;
    if (d.target.bus !== 'scsi' || a?.type !== 'drive') return;
    const lsi = def.devices.controllers.some((c) => c.type === 'scsi' && c.index === a.controller && c.model === 'lsilogic');
    if (lsi && (a.bus !== 0 || a.target !== 0 || a.unit > 6)) {
      out.push({
        path: `/domain/devices/disk[${i + 1}]/address`,
        device: `<disk> '${d.target.dev}'`,
        message: 'an lsilogic controller has units 0-6 on bus 0, target 0',
      });
    }
  });
  out.push(...iotuneProblems(def));
  def.devices.controllers.forEach((c, i) => {
    if (c.iothread !== undefined && !iothreadIdsOf(def).includes(c.iothread)) {
      out.push({
        path: `/domain/devices/controller[${i + 1}]/driver/@iothread`,
        device: `<controller type='${c.type}' index='${c.index}'>`,
        message: `iothread ${c.iothread} is not defined (the domain has <iothreads>${def.iothreads ?? 0}</iothreads>)`,
      });
    }
  });
  return out;
}

/**
 * libvirt's rules for <transient/> (qemuValidateDomainDeviceDefDiskTransient), and what ferry's
 * overlay (a qcow2 file over the image, the image's chain from its header) cannot carry.
 */
function transientProblems(d: DiskDefinition): string[] {
  const out: string[] = [];
  if (d.device !== 'disk') out.push(`transient disk '${d.target.dev}' must be of 'disk' device, not '${d.device}'`);
  if (d.readonly) out.push(`transient disk '${d.target.dev}' must not be read-only`);
  if (d.shareable) out.push(`transient disk '${d.target.dev}' must not be shared (<shareable/>); <transient shareBacking='yes'/> shares the image`);
  if (d.type === 'network') out.push(`transient disk '${d.target.dev}': transient disks are supported for local storage only, not network disks`);
  if (d.encryption) out.push(`transient disk '${d.target.dev}': an encrypted (<encryption>) image cannot be the backing of the overlay`);
  if (d.backingStore !== undefined) out.push(`transient disk '${d.target.dev}': the overlay follows the image's own header; give no <backingStore>`);
  return out;
}

/** A disk's (or backing layer's, or network NVRAM's) <source> as libvirt writes it. */
export function renderDiskSource(type: DiskDefinition['type'], s: DiskDefinition['source'], startupPolicy?: string): XmlElement | undefined {
  if (type === 'file' && s.file) return el('source', { file: s.file, startupPolicy });
  if (type === 'block' && s.dev) return el('source', { dev: s.dev, startupPolicy });
  if (type === 'volume') return el('source', { pool: s.pool, volume: s.volume, startupPolicy });
  if (type === 'network') {
    return el(
      'source',
      { protocol: s.protocol, name: s.name, query: s.query, tls: s.tls === undefined ? undefined : s.tls ? 'yes' : 'no', tlsHostname: s.tlsHostname },
      [
        ...(s.hosts ?? []).map((h) => el('host', { name: h.name || undefined, port: h.port, transport: h.transport, socket: h.socket })),
        s.reconnectDelay === undefined ? undefined : el('reconnect', { delay: s.reconnectDelay }),
        s.sslVerify === undefined ? undefined : el('ssl', { verify: s.sslVerify ? 'yes' : 'no' }),
        s.readahead === undefined ? undefined : el('readahead', { size: s.readahead }),
        s.timeoutSeconds === undefined ? undefined : el('timeout', { seconds: s.timeoutSeconds }),
        s.knownHosts === undefined ? undefined : el('knownHosts', { path: s.knownHosts }),
        s.identity === undefined ? undefined : el('identity', { username: s.identity.username, agentsock: s.identity.agentsock }),
      ],
    );
  }
  return undefined;
}

/** The disk as libvirt writes it; `live` adds its <alias>; without `showSecrets`, cookie values are left out (dumpxml without --security-info). */
export function renderDisk(disk: DiskDefinition, live = false, showSecrets = true): XmlElement {
  const plain = renderDiskSource(disk.type, disk.source, disk.startupPolicy);
  const secrets = renderSourceSecrets(disk, showSecrets);
  const source = plain && secrets.length > 0 ? { ...plain, children: [...plain.children, ...secrets] } : plain;
  const onOff = (v: boolean | undefined): string | undefined => (v === undefined ? undefined : v ? 'on' : 'off');
  const b = disk.blockio;
  return el('disk', { type: disk.type, device: disk.device }, [
    el(
      'driver',
      {
        name: 'qemu',
        type: disk.format,
        cache: disk.cache,
        error_policy: disk.errorPolicy,
        rerror_policy: disk.rerrorPolicy,
        io: disk.io,
        iothread: disk.iothread,
        queues: disk.queues,
        queue_size: disk.queueSize,
        discard: disk.discard,
        detect_zeroes: disk.detectZeroes,
        copy_on_read: onOff(disk.copyOnRead),
        discard_no_unref: onOff(disk.discardNoUnref),
        ioeventfd: onOff(disk.ioeventfd),
        event_idx: onOff(disk.eventIdx),
        ...renderVirtioOptions(disk.virtio),
      },
      [renderMetadataCache(disk.metadataCacheBytes), renderIothreadMapping(disk.iothreadMapping)],
    ),
    disk.auth?.inDisk ? renderAuth(disk.auth) : undefined,
    source,
    disk.backingStore === undefined ? undefined : renderBackingStore(disk.backingStore, (type, s) => renderDiskSource(type, s), showSecrets),
    b === undefined
      ? undefined
      : el('blockio', { logical_block_size: b.logicalBlockSize, physical_block_size: b.physicalBlockSize, discard_granularity: b.discardGranularity }),
    el('target', { dev: disk.target.dev, bus: disk.target.bus, tray: disk.tray, removable: onOff(disk.removable), rotation_rate: disk.rotationRate }),
    disk.encryption?.inDisk ? renderEncryption(disk.encryption) : undefined,
    disk.geometry === undefined
      ? undefined
      : el('geometry', { cyls: disk.geometry.cyls, heads: disk.geometry.heads, secs: disk.geometry.secs, trans: disk.geometry.trans }),
    disk.iotune === undefined ? undefined : renderIotune(disk.iotune),
    disk.throttleFilters === undefined
      ? undefined
      : el(
          'throttlefilters',
          {},
          disk.throttleFilters.map((g) => el('throttlefilter', { group: g })),
        ),
    disk.bootOrder === undefined ? undefined : el('boot', { order: disk.bootOrder }),
    disk.readonly ? el('readonly') : undefined,
    disk.shareable ? el('shareable') : undefined,
    disk.transient
      ? el('transient', { shareBacking: disk.transient.shareBacking === undefined ? undefined : disk.transient.shareBacking ? 'yes' : 'no' })
      : undefined,
    disk.serial === undefined ? undefined : el('serial', {}, disk.serial),
    disk.wwn === undefined ? undefined : el('wwn', {}, disk.wwn),
    disk.vendor === undefined ? undefined : el('vendor', {}, disk.vendor),
    disk.product === undefined ? undefined : el('product', {}, disk.product),
    ...renderPlacement(disk, live),
  ]);
}

/** The ssh-agent sockets a domain's ssh disks name (QEMU runs with one SSH_AUTH_SOCK). */
export function agentSockets(def: DomainDefinition): string[] {
  return [
    ...new Set(
      def.devices.disks.flatMap((d) =>
        d.type === 'network' && d.source.protocol === 'ssh' && d.source.identity?.agentsock ? [d.source.identity.agentsock] : [],
      ),
    ),
  ];
}
