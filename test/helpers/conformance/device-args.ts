import { child, type XmlElement } from '../../../src/shared/xml.js';

/**
 * Which QEMU argument each device element of a domain becomes: the mapping the
 * conformance harness checks ferry's command line against. It is libvirt's
 * mapping (src/qemu/qemu_command.c), written down as data and checked against
 * libvirt's own command lines (the fixture's *.args files) by the harness's
 * calibration test, so it cannot drift from what libvirt really does.
 *
 * Only the device's primary argument is named (the front end: `-device`, or
 * `-vnc`, `-audiodev`, ...); back ends (-blockdev, -chardev, -netdev) follow
 * from it. A device that libvirt builds without an argument of its own (the
 * machine's built-in PCI root, PS/2 input, ...) is `implicit`, with the reason.
 */
export type Expectation = { kind: 'arg'; opt: string; drivers: readonly string[]; valueIncludes?: string } | { kind: 'implicit'; why: string };

export interface DomainContext {
  /** i440fx ('pc', 'pc-i440fx-*'), q35 or anything else. */
  chipset: 'i440fx' | 'q35' | 'other';
  /** Ports of the domain's <serial> elements: a <console> on one of them is that serial port. */
  serialPorts: ReadonlySet<number>;
}

const dev = (...drivers: string[]): Expectation => ({ kind: 'arg', opt: '-device', drivers });
const implicit = (why: string): Expectation => ({ kind: 'implicit', why });
/** A virtio PCI device and its transitional and non-transitional variants (model='virtio-(non-)transitional'). */
const virtio = (...bases: string[]): string[] => bases.flatMap((b) => [b, `${b}-non-transitional`, `${b}-transitional`]);

export function domainContext(domain: XmlElement): DomainContext {
  const machine = child(child(domain, 'os') ?? domain, 'type')?.attrs.machine ?? 'pc';
  const chipset =
    machine === 'pc' || machine.startsWith('pc-i440fx') || (machine.startsWith('pc-') && !machine.includes('q35'))
      ? 'i440fx'
      : machine === 'q35' || machine.includes('q35')
        ? 'q35'
        : 'other';
  const devices = child(domain, 'devices')?.children ?? [];
  const serialPorts = new Set(devices.filter((d) => d.name === 'serial').map((s, i) => Number(child(s, 'target')?.attrs.port ?? i)));
  return { chipset, serialPorts };
}

/** The argument a device element of <devices> must become (the emulator is not a device). */
export function expectedArg(device: XmlElement, ctx: DomainContext): Expectation {
  const a = device.attrs;
  switch (device.name) {
    case 'disk':
      return diskArg(device);
    case 'controller':
      return controllerArg(device, ctx);
    case 'interface':
      return interfaceArg(device);
    case 'input':
      return inputArg(device);
    case 'graphics':
      return graphicsArg(a.type ?? '');
    case 'video':
      return videoArg(device);
    case 'sound':
      return soundArg(a.model ?? '');
    case 'audio':
      return { kind: 'arg', opt: '-audiodev', drivers: [] };
    case 'memballoon':
      return a.model === 'none' ? implicit("model='none': no balloon") : dev(...virtio('virtio-balloon-pci'));
    case 'rng':
      return dev(...virtio('virtio-rng-pci'));
    case 'watchdog':
      if (a.model === 'itco') return { kind: 'arg', opt: '-watchdog-action', drivers: [] };
      return dev(a.model ?? 'i6300esb');
    case 'panic':
      if (a.model === 'hyperv') return { kind: 'arg', opt: '-cpu', drivers: [], valueIncludes: 'hv-crash' };
      return dev(a.model === 'pvpanic' ? 'pvpanic-pci' : 'pvpanic');
    case 'serial':
      return serialArg(device);
    case 'console':
      return consoleArg(device, ctx);
    case 'channel':
      return channelArg(device);
    case 'parallel':
      return dev('isa-parallel');
    case 'hostdev':
      return hostdevArg(device);
    case 'redirdev':
      return dev('usb-redir');
    case 'redirfilter':
      return implicit('the filter= property of the usb-redir devices');
    case 'hub':
      return dev('usb-hub');
    case 'smartcard':
      return dev(a.mode === 'passthrough' ? 'ccid-card-passthru' : 'ccid-card-emulated');
    case 'tpm':
      return dev(a.model ?? 'tpm-tis');
    case 'shmem':
      return dev(child(device, 'model')?.attrs.type ?? 'ivshmem-plain');
    case 'memory':
      return memoryArg(a.model ?? '');
    case 'iommu':
      return dev(a.model === 'virtio' ? 'virtio-iommu' : a.model === 'amd' ? 'amd-iommu' : 'intel-iommu');
    case 'vsock':
      return dev(...virtio('vhost-vsock-pci'));
    case 'filesystem':
      return fsArg(child(device, 'driver')?.attrs.type);
    case 'crypto':
      return dev('virtio-crypto-pci');
    case 'pstore':
      return dev('acpi-erst');
    case 'lease':
      return implicit('a lock-manager resource: no QEMU argument');
    default:
      return dev(device.name);
  }
}

function diskArg(disk: XmlElement): Expectation {
  if (child(disk, 'transient')?.attrs.shareBacking === 'yes') return implicit('<transient shareBacking>: libvirt hot-plugs it after start');
  const device = disk.attrs.device ?? 'disk';
  const target = child(disk, 'target')?.attrs ?? {};
  const bus = target.bus ?? busFromDev(target.dev ?? '');
  switch (bus) {
    case 'virtio':
      if (disk.attrs.type === 'vhostuser') return dev('vhost-user-blk-pci');
      return dev(...virtio('virtio-blk-pci'));
    case 'ide':
    case 'sata':
      return dev(device === 'cdrom' ? 'ide-cd' : 'ide-hd');
    case 'scsi':
      return dev(device === 'cdrom' ? 'scsi-cd' : device === 'lun' ? 'scsi-block' : 'scsi-hd', 'scsi-generic');
    case 'usb':
      return dev('usb-storage');
    case 'fdc':
      return dev('floppy');
    case 'sd':
      return { kind: 'arg', opt: '-drive', drivers: [], valueIncludes: 'if=sd' };
    default:
      return dev(`${bus}-disk`);
  }
}

/** libvirt's default bus for a target name without bus=. */
function busFromDev(name: string): string {
  if (name.startsWith('vd')) return 'virtio';
  if (name.startsWith('hd')) return 'ide';
  if (name.startsWith('fd')) return 'fdc';
  if (name.startsWith('sd')) return 'scsi';
  return 'virtio';
}

const USB_MODELS: Record<string, string> = {
  'piix3-uhci': 'piix3-usb-uhci',
  'piix4-uhci': 'piix4-usb-uhci',
  ehci: 'usb-ehci',
  'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1',
  'ich9-uhci2': 'ich9-usb-uhci2',
  'ich9-uhci3': 'ich9-usb-uhci3',
  'vt82c686b-uhci': 'vt82c686b-usb-uhci',
  'pci-ohci': 'pci-ohci',
  'nec-xhci': 'nec-usb-xhci',
  'qemu-xhci': 'qemu-xhci',
};
const SCSI_MODELS: Record<string, string[]> = {
  'virtio-scsi': ['virtio-scsi-pci'],
  'virtio-transitional': ['virtio-scsi-pci-transitional'],
  'virtio-non-transitional': ['virtio-scsi-pci-non-transitional'],
  lsilogic: ['lsi'],
  lsisas1068: ['mptsas1068'],
  lsisas1078: ['megasas'],
  vmpvscsi: ['pvscsi'],
  ibmvscsi: ['spapr-vscsi'],
  am53c974: ['am53c974'],
  dc390: ['dc390'],
};
const PCI_MODELS: Record<string, string> = {
  'pcie-root-port': 'pcie-root-port',
  'pci-bridge': 'pci-bridge',
  'dmi-to-pci-bridge': 'i82801b11-bridge',
  'pcie-switch-upstream-port': 'x3130-upstream',
  'pcie-switch-downstream-port': 'xio3130-downstream',
  'pci-expander-bus': 'pxb',
  'pcie-expander-bus': 'pxb-pcie',
  'pcie-to-pci-bridge': 'pcie-pci-bridge',
};

function controllerArg(c: XmlElement, ctx: DomainContext): Expectation {
  const { type, model } = c.attrs;
  const index = c.attrs.index ?? '0';
  switch (type) {
    case 'pci':
      if (model === 'pci-root' || model === 'pcie-root') return implicit(`${model}: the machine's own PCI root bus`);
      return dev(child(c, 'model')?.attrs.name ?? PCI_MODELS[model ?? ''] ?? model ?? 'pci-bridge');
    case 'usb':
      if (model === 'none') return implicit("model='none': no USB controller");
      if (model === undefined) return dev(ctx.chipset === 'q35' ? 'qemu-xhci' : 'piix3-usb-uhci');
      return dev(USB_MODELS[model] ?? model);
    case 'ide':
      return ctx.chipset === 'i440fx' ? implicit("the i440fx machine's built-in PIIX3 IDE") : dev('ahci');
    case 'sata':
      return ctx.chipset === 'q35' && index === '0' ? implicit("the q35 machine's built-in ICH9 AHCI") : dev('ahci');
    case 'scsi':
      return dev(...(SCSI_MODELS[model ?? ''] ?? [model ?? 'lsi']));
    case 'virtio-serial':
      return dev(
        ...(model === 'virtio-transitional'
          ? ['virtio-serial-pci-transitional']
          : model === 'virtio-non-transitional'
            ? ['virtio-serial-pci-non-transitional']
            : virtio('virtio-serial-pci')),
      );
    case 'fdc':
      return ctx.chipset === 'q35' ? dev('isa-fdc') : implicit("the i440fx machine's built-in floppy controller");
    case 'ccid':
      return dev('usb-ccid');
    case 'isa':
      return implicit("the machine's ISA bus");
    default:
      return dev(`${type ?? ''}-controller`);
  }
}

function interfaceArg(iface: XmlElement): Expectation {
  const type = iface.attrs.type;
  const model = child(iface, 'model')?.attrs.type;
  if (type === 'hostdev') return dev('vfio-pci');
  if (model === undefined) return dev('rtl8139');
  if (model === 'virtio' || model === 'virtio-transitional' || model === 'virtio-non-transitional') {
    return dev(...(model === 'virtio' ? virtio('virtio-net-pci') : [`virtio-net-pci-${model.slice('virtio-'.length)}`]));
  }
  return dev(model);
}

function inputArg(input: XmlElement): Expectation {
  const { type, bus } = input.attrs;
  if (type === 'evdev') return { kind: 'arg', opt: '-object', drivers: ['input-linux'] };
  if (type === 'passthrough') return dev('virtio-input-host-pci');
  if (bus === 'ps2' || (bus === undefined && (type === 'mouse' || type === 'keyboard'))) return implicit("PS/2: the machine's built-in i8042");
  const kind = type === 'keyboard' ? 'kbd' : (type ?? 'tablet');
  if (bus === 'usb') return dev(`usb-${kind}`);
  if (bus === 'virtio') return dev(`virtio-${type === 'keyboard' ? 'keyboard' : type}-pci`);
  return dev(`${bus}-${kind}`);
}

function graphicsArg(type: string): Expectation {
  if (type === 'vnc' || type === 'spice') return { kind: 'arg', opt: `-${type}`, drivers: [] };
  if (type === 'rdp') return implicit('served by the qemu-rdp helper through the D-Bus display (-display dbus)');
  return { kind: 'arg', opt: '-display', drivers: [type] };
}

function videoArg(video: XmlElement): Expectation {
  const model = child(video, 'model');
  const type = model?.attrs.type ?? 'vga';
  const vhostUser = child(video, 'driver')?.attrs.name === 'vhostuser';
  switch (type) {
    case 'none':
      return implicit("model='none': no video device");
    case 'vga':
      return dev('VGA');
    case 'cirrus':
      return dev('cirrus-vga');
    case 'vmvga':
      return dev('vmware-svga');
    case 'qxl':
      return dev('qxl-vga', 'qxl');
    case 'virtio':
      return vhostUser ? dev('vhost-user-vga', 'vhost-user-gpu-pci') : dev('virtio-vga', 'virtio-gpu-pci', 'virtio-vga-gl', 'virtio-gpu-gl-pci');
    case 'bochs':
      return dev('bochs-display');
    case 'ramfb':
      return dev('ramfb');
    default:
      return dev(type);
  }
}

function soundArg(model: string): Expectation {
  switch (model) {
    case 'ich6':
    case 'ich7':
      return dev('intel-hda');
    case 'ich9':
      return dev('ich9-intel-hda');
    case 'ac97':
      return dev('AC97');
    case 'es1370':
      return dev('ES1370');
    case 'usb':
      return dev('usb-audio');
    case 'virtio':
      return dev('virtio-sound-pci');
    case 'pcspk':
      return { kind: 'arg', opt: '-machine', drivers: [], valueIncludes: 'pcspk-audiodev' };
    default:
      return dev(model);
  }
}

function serialArg(serial: XmlElement): Expectation {
  const target = child(serial, 'target');
  const type = target?.attrs.type ?? 'isa-serial';
  if (type === 'isa-debug') return dev('isa-debugcon');
  return dev(type);
}

function consoleArg(console: XmlElement, ctx: DomainContext): Expectation {
  const target = child(console, 'target');
  const type = target?.attrs.type ?? 'serial';
  if (type === 'virtio') return dev('virtconsole');
  const port = Number(target?.attrs.port ?? 0);
  if (type === 'serial' && ctx.serialPorts.has(port)) return implicit(`the console of <serial> port ${port}`);
  return dev('isa-serial');
}

function channelArg(channel: XmlElement): Expectation {
  const type = child(channel, 'target')?.attrs.type;
  if (type === 'guestfwd') return { kind: 'arg', opt: '-netdev', drivers: ['user'], valueIncludes: 'guestfwd' };
  return dev('virtserialport');
}

function fsArg(driver: string | undefined): Expectation {
  if (driver === 'virtiofs') return dev('vhost-user-fs-pci');
  if (driver === 'mtp') return dev('usb-mtp');
  return dev(...virtio('virtio-9p-pci'));
}

function hostdevArg(hostdev: XmlElement): Expectation {
  if (child(hostdev, 'address')?.attrs.type === 'unassigned') return implicit("address type='unassigned': kept for the guest, not attached");
  switch (hostdev.attrs.type) {
    case 'usb':
      return dev('usb-host');
    case 'scsi':
      return dev('scsi-generic', 'scsi-block');
    case 'scsi_host':
      return dev(...virtio('vhost-scsi-pci'));
    default:
      return dev('vfio-pci', 'vfio-pci-nohotplug');
  }
}

function memoryArg(model: string): Expectation {
  switch (model) {
    case 'dimm':
      return dev('pc-dimm');
    case 'nvdimm':
      return dev('nvdimm');
    case 'virtio-mem':
      return dev('virtio-mem-pci');
    case 'virtio-pmem':
      return dev('virtio-pmem-pci');
    case 'sgx-epc':
      return { kind: 'arg', opt: '-object', drivers: ['memory-backend-epc'] };
    default:
      return dev(model);
  }
}
