import { FerryError } from '../errors/ferry-error.js';
import { DISK_FORMATS, type DiskDefinition, type DomainDefinition } from './definition.js';
import { DISK_BUSES, DISK_CACHE_MODES, type DiskBus } from '../shared/disk-modes.js';
import { machineFamily } from './machine-family.js';
import { parseDomainXml } from './parse-domain-xml.js';
import { pciDevices } from './pci-kind.js';
import { renderDomainXml } from './render-domain-xml.js';

/** What `ferry attach-disk` asks for (virsh attach-disk's options). */
export interface AttachDiskSpec {
  source: string;
  target: string;
  /** --targetbus; from the target's prefix when absent (vd → virtio, sd → scsi, hd → ide, fd → fdc). */
  bus?: string;
  /** --type: disk (default), cdrom, floppy. */
  device?: string;
  /** --subdriver: the image format. */
  format?: string;
  /** --driver: only qemu. */
  driver?: string;
  cache?: string;
  /** --mode readonly | shareable. */
  mode?: string;
  /** --sourcetype file | block; from the path when absent. */
  sourceType?: 'file' | 'block';
  serial?: string;
}

function invalid(message: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', message);
}

/** The disk attach-disk adds, checked as a definition would be. */
export function diskFromSpec(spec: AttachDiskSpec): DiskDefinition {
  if (spec.driver !== undefined && spec.driver !== 'qemu')
    throw invalid(`unsupported configuration: only the 'qemu' disk driver is supported, not '${spec.driver}'`);
  const device = spec.device ?? 'disk';
  if (device !== 'disk' && device !== 'cdrom' && device !== 'floppy') throw invalid(`invalid argument: unknown disk type '${device}' (disk, cdrom or floppy)`);
  const dev = spec.target;
  if (!/^[a-z]+[a-z0-9]*$/.test(dev)) throw invalid(`invalid argument: invalid target dev '${dev}'`);
  const bus =
    spec.bus ?? (dev.startsWith('vd') ? 'virtio' : dev.startsWith('sd') ? 'scsi' : dev.startsWith('hd') ? 'ide' : dev.startsWith('fd') ? 'fdc' : 'virtio');
  if (!(DISK_BUSES as readonly string[]).includes(bus)) throw invalid(`invalid argument: unknown disk bus '${bus}' (${DISK_BUSES.join(', ')})`);
  const format = spec.format ?? 'raw';
  if (!(DISK_FORMATS as readonly string[]).includes(format)) throw invalid(`invalid argument: unknown disk format '${format}' (${DISK_FORMATS.join(', ')})`);
  if (spec.cache !== undefined && !(DISK_CACHE_MODES as readonly string[]).includes(spec.cache)) {
    throw invalid(`invalid argument: unknown cache mode '${spec.cache}' (${DISK_CACHE_MODES.join(', ')})`);
  }
  if (spec.mode !== undefined && spec.mode !== 'readonly' && spec.mode !== 'shareable')
    throw invalid(`invalid argument: No support for ${spec.mode} in command 'attach-disk'`);
  const type = spec.sourceType ?? 'file';
  const disk: DiskDefinition = {
    type,
    device,
    format: format as DiskDefinition['format'],
    source: spec.source === '' ? {} : type === 'block' ? { dev: spec.source } : { file: spec.source },
    target: { dev, bus: bus as DiskBus },
    readonly: device === 'cdrom' || spec.mode === 'readonly',
    shareable: spec.mode === 'shareable',
  };
  if (spec.cache !== undefined) disk.cache = spec.cache as DiskDefinition['cache'];
  if (spec.serial !== undefined) disk.serial = spec.serial;
  return disk;
}

/**
 * The definition with `disk` added, checked and completed as define does it
 * (duplicate targets, what the machine cannot hold, an address for it).
 */
export function withAddedDisk(def: DomainDefinition, disk: DiskDefinition): DomainDefinition {
  if (def.devices.disks.some((d) => d.target.dev === disk.target.dev)) {
    throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: target ${disk.target.dev} already exists`);
  }
  const next = structuredClone(def);
  next.devices.disks.push(structuredClone(disk));
  return parseDomainXml(renderDomainXml(next));
}

export function withoutDisk(def: DomainDefinition, dev: string): DomainDefinition {
  const next = structuredClone(def);
  const i = next.devices.disks.findIndex((d) => d.target.dev === dev);
  if (i < 0) throw new FerryError('DISK_NOT_FOUND', `No disk found whose source path or target is ${dev}`, { details: { target: dev } });
  next.devices.disks.splice(i, 1);
  return next;
}

/** The definition with a cdrom's or floppy's medium replaced (source undefined: ejected). */
export function withMedium(def: DomainDefinition, dev: string, source: string | undefined): DomainDefinition {
  const next = structuredClone(def);
  const d = removableDisk(next, dev);
  if (source === undefined) {
    d.source = {};
    if (d.type !== 'file') d.type = 'file';
  } else {
    d.source = d.type === 'block' ? { dev: source } : { file: source };
    if (d.type !== 'block') d.type = 'file';
  }
  delete d.tray;
  return next;
}

/** The cdrom or floppy with this target (change-media works on those only, as virsh). */
export function removableDisk(def: DomainDefinition, dev: string): DiskDefinition {
  const d = def.devices.disks.find((x) => x.target.dev === dev || x.source.file === dev || x.source.dev === dev);
  if (!d) throw new FerryError('DISK_NOT_FOUND', `No disk found whose source path or target is ${dev}`, { details: { target: dev } });
  if (d.device !== 'cdrom' && d.device !== 'floppy') {
    throw new FerryError(
      'OPERATION_INVALID',
      `Requested operation is not valid: disk '${d.target.dev}' is not a cdrom or floppy: change-media works on removable media only`,
    );
  }
  return d;
}

/**
 * Places a disk about to be hot-plugged into a running machine, which cannot
 * grow controllers: a virtio disk takes a free pcie-root-port (q35) or a free
 * slot on pci.0 (i440fx); a SCSI disk the next unit of an existing SCSI
 * controller; a USB disk a free port. SATA, IDE and floppy drives cannot be
 * hot-plugged in QEMU (libvirt refuses them too).
 */
export function placeHotplugDisk(live: DomainDefinition, disk: DiskDefinition): DiskDefinition {
  const family = machineFamily(live.os.machine);
  const out = structuredClone(disk);
  delete out.address;
  const bus = disk.target.bus;
  if (bus === 'sata' || bus === 'ide' || bus === 'fdc') {
    throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: disk bus '${bus}' cannot be hotplugged.`, {
      hint: 'Attach it with --config (the persistent definition) and restart the domain, or use a virtio, scsi or usb disk',
    });
  }
  if (bus === 'virtio') {
    const used = new Set<string>();
    for (const p of pciDevices(live, family)) {
      const a = p.device.address;
      if (a?.type === 'pci') used.add(`${a.bus}:${a.slot}`);
    }
    if (family === 'q35') {
      const port = live.devices.controllers.find((c) => c.type === 'pci' && c.model === 'pcie-root-port' && c.hotplug !== false && !used.has(`${c.index}:0`));
      if (!port) {
        throw new FerryError('DISK_NO_HOTPLUG_SLOT', `cannot hot-plug disk '${disk.target.dev}': domain '${live.name}' has no free pcie-root-port`);
      }
      out.address = { type: 'pci', domain: 0, bus: port.index, slot: 0, function: 0 };
    } else {
      let slot = 3;
      while (slot <= 0x1f && used.has(`0:${slot}`)) slot++;
      if (slot > 0x1f) throw new FerryError('DISK_NO_HOTPLUG_SLOT', `cannot hot-plug disk '${disk.target.dev}': no free slot on pci.0`);
      out.address = { type: 'pci', domain: 0, bus: 0, slot, function: 0 };
    }
  } else if (bus === 'scsi') {
    const controller = live.devices.controllers.find((c) => c.type === 'scsi');
    if (!controller) {
      throw new FerryError('DISK_NO_HOTPLUG_SLOT', `cannot hot-plug disk '${disk.target.dev}': domain '${live.name}' has no SCSI controller`, {
        hint: "Define the domain with <controller type='scsi' model='virtio-scsi'/> to hot-plug SCSI disks",
      });
    }
    const taken = new Set(
      live.devices.disks.flatMap((d) =>
        d.target.bus === 'scsi' && d.address?.type === 'drive' && d.address.controller === controller.index ? [`${d.address.target}:${d.address.unit}`] : [],
      ),
    );
    const max = controller.model === 'lsilogic' ? 7 : 16384;
    let unit = 0;
    while (unit < max && taken.has(`0:${unit}`)) unit++;
    if (unit >= max) throw new FerryError('DISK_NO_HOTPLUG_SLOT', `cannot hot-plug disk '${disk.target.dev}': SCSI controller ${controller.index} is full`);
    out.address = { type: 'drive', controller: controller.index, bus: 0, target: 0, unit };
  } else if (bus === 'usb') {
    if (!live.devices.controllers.some((c) => c.type === 'usb' && c.model !== 'none')) {
      throw new FerryError('DISK_NO_HOTPLUG_SLOT', `cannot hot-plug disk '${disk.target.dev}': domain '${live.name}' has no USB controller`);
    }
    const d = live.devices;
    const used = new Set([...d.inputs, ...d.redirdevs, ...d.serials, ...d.disks].flatMap((x) => (x.address?.type === 'usb' ? [x.address.port] : [])));
    let port = 1;
    while (used.has(String(port))) port++;
    out.address = { type: 'usb', bus: 0, port: String(port) };
  }
  return out;
}
