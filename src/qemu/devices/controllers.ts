import { virtioOptionProps } from '../../vm/devices/virtio-options.js';
import type { ControllerDefinition, DomainDefinition } from '../../vm/definition.js';
import { device, pciProps, usbProps } from './device-props.js';
import { iothreadVqMapping } from '../../vm/devices/iothread-mapping.js';
import { jsonDevice } from './json-device.js';
import { hubArgs } from './platform-devices.js';

const USB_DRIVER: Record<string, string> = {
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
  'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1',
  'ich9-uhci2': 'ich9-usb-uhci2',
  'ich9-uhci3': 'ich9-usb-uhci3',
  'piix3-uhci': 'piix3-usb-uhci',
  'piix4-uhci': 'piix4-usb-uhci',
};

/** PCI controllers ordered so each comes after the controller of the bus it sits on (bus 0 is the root). */
function parentsFirst(pci: ControllerDefinition[]): ControllerDefinition[] {
  const busOf = (c: ControllerDefinition): number => (c.address?.type === 'pci' ? c.address.bus : 0);
  const placed = new Set<number>([0]);
  const out: ControllerDefinition[] = [];
  let rest = pci;
  while (rest.length > 0) {
    const ready = rest.filter((c) => placed.has(busOf(c)) || !rest.some((p) => p.index === busOf(c)));
    if (ready.length === 0) return [...out, ...rest]; // a loop: QEMU names the bus it cannot find
    for (const c of ready) {
      out.push(c);
      placed.add(c.index);
    }
    rest = rest.filter((c) => !ready.includes(c));
  }
  return out;
}

/** The controllers QEMU needs on its command line (the root bus and the built-in SATA/IDE/FDC are the machine's own). */
export function controllerArgs(def: DomainDefinition, q35: boolean): string[] {
  const out: string[] = [];
  // Parents before children: a root port before the bridge in it, a bridge before what it carries.
  const pci = parentsFirst(def.devices.controllers.filter((c) => c.type === 'pci' && c.index > 0).sort((a, b) => a.index - b.index));
  for (const c of pci) out.push(...pciController(c, q35));
  // <pcihole64> on the root bus: the host bridge's 64-bit PCI hole.
  const root = def.devices.controllers.find((c) => c.type === 'pci' && c.index === 0 && c.pcihole64KiB !== undefined);
  if (root) out.push('-global', `${q35 ? 'q35-pcihost' : 'i440FX-pcihost'}.pci-hole64-size=${root.pcihole64KiB}K`);
  const usb = def.devices.controllers.filter((c) => c.type === 'usb' && c.model !== 'none');
  for (const c of usb) out.push(...usbController(c, usb, q35));
  // Hubs right after the USB controllers: a CCID controller (below) may sit on a hub's port.
  out.push(...hubArgs(def));
  for (const c of def.devices.controllers) {
    if (c.type === 'scsi' && c.model === 'lsilogic') {
      out.push(...device('lsi', [`id=${c.alias}`, ...pciProps(c.address, q35)]));
    } else if (c.type === 'scsi' && c.iothreadMapping) {
      out.push(
        '-device',
        jsonDevice(
          'virtio-scsi-pci',
          [...virtioOptionProps(c.virtio), `id=${c.alias}`, c.queues === undefined ? undefined : `num_queues=${c.queues}`, ...scsiTuning(c)],
          {
            'iothread-vq-mapping': iothreadVqMapping(c.iothreadMapping),
          },
          pciProps(c.address, q35),
        ),
      );
    } else if (c.type === 'scsi') {
      out.push(
        ...device('virtio-scsi-pci', [
          ...virtioOptionProps(c.virtio),
          `id=${c.alias}`,
          c.queues === undefined ? undefined : `num_queues=${c.queues}`,
          ...scsiTuning(c),
          c.iothread === undefined ? undefined : `iothread=iothread${c.iothread}`,
          ...pciProps(c.address, q35),
        ]),
      );
    } else if (c.type === 'virtio-serial') {
      out.push(
        ...device('virtio-serial-pci', [
          ...virtioOptionProps(c.virtio),
          `id=${c.alias}`,
          c.ports === undefined ? undefined : `max_ports=${c.ports}`,
          c.vectors === undefined ? undefined : `vectors=${c.vectors}`,
          ...pciProps(c.address, q35),
        ]),
      );
    } else if (c.type === 'ccid') {
      out.push(...device('usb-ccid', [`id=${c.alias}`, ...usbProps(c.address)]));
    } else if (c.type === 'fdc' && q35) {
      // i440fx's PIIX3 has its floppy controller; q35's ICH9 does not, so it is added on the ISA bus.
      out.push(...device('isa-fdc', [`id=${c.alias}`]));
    } else if (c.type === 'sata' && !(q35 && c.index === 0)) {
      out.push(...device('ahci', [`id=${c.alias}`, ...pciProps(c.address, q35)]));
    }
  }
  return out;
}

function pciController(c: ControllerDefinition, q35: boolean): string[] {
  switch (c.model) {
    case 'pcie-root-port':
      return device(c.modelName === 'ioh3420' ? 'ioh3420' : 'pcie-root-port', [
        c.port === undefined ? undefined : `port=0x${c.port.toString(16)}`,
        `chassis=${c.chassis ?? c.index}`,
        memReserve(c),
        `id=${c.alias}`,
        c.hotplug === false ? 'hotplug=off' : undefined,
        ...pciProps(c.address, q35),
      ]);
    case 'pcie-to-pci-bridge':
      return device('pcie-pci-bridge', [`id=${c.alias}`, ...pciProps(c.address, q35)]);
    case 'pci-bridge':
      return device('pci-bridge', [`chassis_nr=${c.chassisNr ?? c.index}`, memReserve(c), `id=${c.alias}`, ...pciProps(c.address, q35)]);
    case 'dmi-to-pci-bridge':
      return device('i82801b11-bridge', [`id=${c.alias}`, ...pciProps(c.address, q35)]);
    case 'pci-expander-bus':
    case 'pcie-expander-bus':
      return device(c.model === 'pci-expander-bus' ? 'pxb' : 'pxb-pcie', [
        `bus_nr=${c.busNr}`,
        `id=${c.alias}`,
        c.numaNode === undefined ? undefined : `numa_node=${c.numaNode}`,
        ...pciProps(c.address, q35),
      ]);
    case 'pcie-switch-upstream-port':
      return device('x3130-upstream', [`id=${c.alias}`, ...pciProps(c.address, q35)]);
    case 'pcie-switch-downstream-port':
      return device('xio3130-downstream', [
        `port=${c.port ?? 0}`,
        `chassis=${c.chassis ?? c.index}`,
        `id=${c.alias}`,
        c.hotplug === false ? 'hotplug=off' : undefined,
        ...pciProps(c.address, q35),
      ]);
    default:
      return [];
  }
}

/** <target memReserve=> (KiB) as QEMU's mem-reserve (bytes). */
function memReserve(c: ControllerDefinition): string | undefined {
  return c.memReserveKiB === undefined ? undefined : `mem-reserve=${c.memReserveKiB * 1024}`;
}

function usbController(c: ControllerDefinition, all: ControllerDefinition[], q35: boolean): string[] {
  const driver = USB_DRIVER[c.model ?? ''];
  if (!driver) return [];
  const companion = c.model?.startsWith('ich9-uhci') ? all.find((m) => m.index === c.index && m.model === 'ich9-ehci1') : undefined;
  const master = companion ? [`masterbus=${companion.alias}.0`, `firstport=${c.masterStartport ?? (Number(c.model?.slice(-1)) - 1) * 2}`] : [];
  const ports = c.ports !== undefined && (c.model === 'qemu-xhci' || c.model === 'nec-xhci') ? [`p2=${c.ports}`, `p3=${c.ports}`] : [];
  return device(driver, [...(companion ? [] : [`id=${c.alias}`]), ...master, ...ports, ...pciProps(c.address, q35)]);
}

/** virtio-scsi's cmd_per_lun, max_sectors and ioeventfd (libvirt's <driver> names). */
function scsiTuning(c: ControllerDefinition): string[] {
  return [
    c.cmdPerLun === undefined ? undefined : `cmd_per_lun=${c.cmdPerLun}`,
    c.maxSectors === undefined ? undefined : `max_sectors=${c.maxSectors}`,
    c.ioeventfd === undefined ? undefined : `ioeventfd=${c.ioeventfd ? 'on' : 'off'}`,
  ].filter((x): x is string => x !== undefined);
}
