import { FerryError } from '../errors/ferry-error.js';
import { pciSlotName } from './device-address.js';
import type { ControllerDefinition, DomainDefinition, HubDefinition, Placed } from './definition.js';
import { USB_HUB_PORTS } from './devices/hub.js';
import { addDefaultDevices } from './default-devices.js';
import { PCI_MODEL_NAMES, UNNUMBERED } from './devices/controller.js';
import { type MachineFamily, machineFamily } from './machine-family.js';
import { pciDevices } from './pci-kind.js';

/**
 * Completes a definition as libvirt does at define: adds the default devices
 * and gives every device an address (PCI slot, drive unit, virtio-serial port,
 * USB port), adding pcie-root-ports and a pcie-to-pci-bridge where q35 needs
 * them. Addresses are stored with the definition and travel in a migration, so
 * the destination builds the same machine and every device's state loads.
 * Addresses already given are kept; calling it again changes nothing.
 */
export function completeDefinition(def: DomainDefinition): DomainDefinition {
  const family = machineFamily(def.os.machine);
  if (!def.clock) def.clockOffset ??= 'utc';
  numberControllers(def);
  addDefaultDevices(def, family);
  assignDriveAddresses(def);
  assignVirtioSerialPorts(def);
  addCcidControllers(def);
  assignUsbPorts(def);
  assignPciAddresses(def, family);
  return def;
}

/**
 * Controllers written without index= get one, as libvirt gives it: the root
 * bus is PCI controller 0 and other PCI controllers follow in document order;
 * any other controller takes the first index its type has free.
 */
function numberControllers(def: DomainDefinition): void {
  const controllers = def.devices.controllers;
  const used = (type: string): Set<number> => new Set(controllers.filter((c) => c.type === type && c.index !== UNNUMBERED).map((c) => c.index));
  for (const c of controllers) {
    if (c.index !== UNNUMBERED) continue;
    const taken = used(c.type);
    if (c.type === 'pci' && c.model !== 'pci-root' && c.model !== 'pcie-root') {
      c.index = nextPciIndex(controllers);
      continue;
    }
    let i = 0;
    while (taken.has(i)) i++;
    c.index = i;
  }
}

function assignDriveAddresses(def: DomainDefinition): void {
  for (const disk of def.devices.disks) {
    if (disk.address || disk.target.bus === 'virtio') continue;
    const unit = driveIndex(disk.target.dev);
    if (disk.target.bus === 'ide') disk.address = { type: 'drive', controller: 0, bus: Math.floor(unit / 2), target: 0, unit: unit % 2 };
    else if (disk.target.bus === 'sata') disk.address = { type: 'drive', controller: Math.floor(unit / 6), bus: 0, target: 0, unit: unit % 6 };
    else if (disk.target.bus === 'scsi') disk.address = { type: 'drive', controller: 0, bus: 0, target: 0, unit };
    else if (disk.target.bus === 'fdc') disk.address = { type: 'drive', controller: 0, bus: 0, target: 0, unit: unit % 2 };
  }
}

/** sda → 0, sdb → 1, sdaa → 26: libvirt's index of a target name. */
export function driveIndex(dev: string): number {
  const letters = /^(?:sd|hd|vd|xvd|fd)([a-z]+)$/.exec(dev)?.[1] ?? 'a';
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

function assignVirtioSerialPorts(def: DomainDefinition): void {
  // Unaddressed ports go on the first virtio-serial controller; ports are counted per controller.
  const controller = Math.min(...def.devices.controllers.filter((c) => c.type === 'virtio-serial').map((c) => c.index));
  const used = new Set<string>();
  const ports = [...def.devices.consoles.filter((c) => c.targetType === 'virtio'), ...def.devices.channels.filter((c) => c.targetType === 'virtio')];
  for (const p of ports) if (p.address?.type === 'virtio-serial') used.add(`${p.address.controller}:${p.address.port}`);
  const take = (first: number): number => {
    let port = first;
    while (used.has(`${controller}:${port}`)) port++;
    used.add(`${controller}:${port}`);
    return port;
  };
  // A virtio console is port 0 (hvc0, what the guest expects); channels start at 1.
  for (const c of def.devices.consoles) {
    if (c.targetType !== 'virtio' || c.address) continue;
    c.address = { type: 'virtio-serial', controller, bus: 0, port: take(0) };
  }
  for (const ch of def.devices.channels) {
    if (ch.address || ch.targetType !== 'virtio') continue; // a guestfwd channel is slirp's, not a port
    ch.address = { type: 'virtio-serial', controller, bus: 0, port: take(1) };
  }
}

/** A smartcard needs a CCID controller: libvirt adds the one its address names (index 0 when none is named). */
function addCcidControllers(def: DomainDefinition): void {
  for (const s of def.devices.smartcards ?? []) {
    if (!def.devices.controllers.some((c) => c.type === 'ccid' && c.index === s.ccidController))
      def.devices.controllers.push({ type: 'ccid', index: s.ccidController });
  }
}

/** How many ports a USB controller has, as libvirt counts them (an EHCI with its UHCI companions is one bus). */
export function usbPortCount(c: ControllerDefinition): number {
  if (c.ports !== undefined) return c.ports;
  switch (c.model) {
    case 'qemu-xhci':
    case 'nec-xhci':
      return 4;
    case 'ich9-ehci1':
      return 6;
    default:
      return 2; // piix3-uhci, piix4-uhci, a lone ich9-uhciN
  }
}

function assignUsbPorts(def: DomainDefinition): void {
  const d = def.devices;
  const hubs = d.hubs ?? [];
  const usbDevices: Placed[] = [
    ...d.inputs.filter((i) => i.bus === 'usb'),
    ...d.sounds.filter((s) => s.model === 'usb'),
    // usb-mtp filesystems before the redirdevs, as libvirt iterates devices.
    ...(d.filesystems ?? []).filter((f) => f.driver === 'mtp'),
    ...d.redirdevs,
    ...d.serials.filter((s) => s.targetType === 'usb-serial'),
    ...d.disks.filter((k) => k.target.bus === 'usb'),
    ...d.controllers.filter((c) => c.type === 'ccid'),
    ...d.interfaces.filter((n) => n.model === 'usb-net'),
  ];
  if (usbDevices.length === 0 && hubs.length === 0) return;
  if (!d.controllers.some((c) => c.type === 'usb' && c.model !== 'none')) {
    throw new FerryError(
      'XML_UNSUPPORTED',
      "unsupported configuration: USB devices need a USB controller, and this definition has <controller type='usb' model='none'>",
    );
  }
  // One bus per controller index; an EHCI's companions share its bus (and its ports).
  const buses = new Map<number, { ports: number; model: string }>();
  for (const c of d.controllers.filter((x) => x.type === 'usb' && x.model !== 'none').sort((a, b) => a.index - b.index)) {
    const known = buses.get(c.index);
    if (!known || c.model === 'ich9-ehci1') buses.set(c.index, { ports: usbPortCount(c), model: c.model ?? 'usb' });
  }
  // Every port there is, in the order libvirt fills them (its virDomainUSBAddressFindFreePort): a bus's or
  // hub's own ports first (1, 2; 1.1 ... 1.8), then, port by port, those of the hubs plugged into them.
  const portsBelow = (bus: number, at: string | undefined, count: number): Array<readonly [number, string]> => {
    const own = Array.from({ length: count }, (_, i) => [bus, at === undefined ? String(i + 1) : `${at}.${i + 1}`] as const);
    const below = own.flatMap(([, p]) =>
      hubs.filter((h) => h.address?.type === 'usb' && h.address.bus === bus && h.address.port === p).flatMap(() => portsBelow(bus, p, USB_HUB_PORTS)),
    );
    return [...own, ...below];
  };
  const allPorts = (): Array<readonly [number, string]> => [...buses].flatMap(([bus, b]) => portsBelow(bus, undefined, b.ports));
  const used = new Set<string>();
  const check = (u: Placed): void => {
    if (u.address?.type !== 'usb') return;
    const bus = buses.get(u.address.bus);
    if (!bus)
      throw new FerryError(
        'XML_UNSUPPORTED',
        `unsupported configuration: USB address bus ${u.address.bus}: there is no USB controller with index ${u.address.bus}`,
        { details: { element: 'address' } },
      );
    const port = u.address.port;
    if (port === undefined || port === '') return;
    const busIndex = u.address.bus;
    if (!allPorts().some(([b, p]) => b === busIndex && p === port)) {
      throw new FerryError(
        'XML_UNSUPPORTED',
        `unsupported configuration: USB port '${port}' is not a port of the ${bus.model} controller (ports 1-${bus.ports}) or of a <hub> on it (ports N.1-N.${USB_HUB_PORTS})`,
      );
    }
    const key = `${u.address.bus}:${port}`;
    if (used.has(key))
      throw new FerryError('XML_INVALID', `XML error: USB address bus ${u.address.bus} port ${port} is already in use`, { details: { element: 'address' } });
    used.add(key);
  };
  const place = (u: Placed): boolean => {
    if (u.address?.type === 'usb' && u.address.port) return true;
    const want = u.address?.type === 'usb' ? u.address.bus : undefined;
    const free = allPorts().find(([bus, port]) => !used.has(`${bus}:${port}`) && (want === undefined || want === bus));
    if (!free) return false;
    used.add(`${free[0]}:${free[1]}`);
    u.address = { type: 'usb', bus: free[0], port: free[1] };
    return true;
  };
  // Hubs first (their ports are ports for the rest): those with an address, then the others.
  for (const h of hubs) check(h);
  for (const h of hubs) if (!place(h)) throw new FerryError('XML_UNSUPPORTED', 'unsupported configuration: no free USB port for a <hub>');
  for (const u of usbDevices) check(u);
  // Too few ports on a domain's one USB bus: libvirt adds hubs (qemuDomainUSBAddressAddHubs), as many as
  // make room with a port to spare. ferry does it at define, where it places USB devices, so the hubs are
  // in the stored definition (dumpxml shows them) and a destination builds the same tree.
  const unplaced = usbDevices.filter((u) => !(u.address?.type === 'usb' && u.address.port));
  const free = allPorts().filter(([b, p]) => !used.has(`${b}:${p}`)).length;
  if (buses.size === 1 && unplaced.length > free) {
    const needed = Math.ceil((unplaced.length - free + 1) / (USB_HUB_PORTS - 1));
    for (let i = 0; i < needed; i++) {
      const hub: HubDefinition = { type: 'usb' };
      hubs.push(hub);
      d.hubs = hubs;
      if (!place(hub)) throw new FerryError('XML_UNSUPPORTED', 'unsupported configuration: no free USB port for a <hub>');
    }
  }
  for (const u of usbDevices) {
    if (!place(u)) {
      const total = [...buses.values()].map((b) => `${b.model} has ${b.ports}`).join(', ');
      throw new FerryError(
        'XML_UNSUPPORTED',
        `unsupported configuration: ${usbDevices.length} USB devices do not fit the USB controllers' ports (${total}): add a <hub type='usb'/> (8 more ports) or give the controller more ports (<controller type='usb' model='qemu-xhci' ports='15'>)`,
      );
    }
  }
}

/** Which slots of which bus are taken. */
class PciSlots {
  private readonly taken = new Set<string>();
  take(bus: number, slot: number, fn: number): boolean {
    const key = pciSlotName({ bus, slot, function: fn });
    if (this.taken.has(key)) return false;
    this.taken.add(key);
    return true;
  }
  isFree(bus: number, slot: number, fn = 0): boolean {
    return !this.taken.has(pciSlotName({ bus, slot, function: fn }));
  }
  slotFree(bus: number, slot: number): boolean {
    for (let f = 0; f < 8; f++) if (!this.isFree(bus, slot, f)) return false;
    return true;
  }
}

function assignPciAddresses(def: DomainDefinition, family: MachineFamily): void {
  const controllers = def.devices.controllers;
  const slots = new PciSlots();
  const q35 = family === 'q35';
  // What the machine itself has: the host bridge, and PIIX3 (i440fx) or the ICH9 functions (q35).
  slots.take(0, 0, 0);
  if (q35) for (let f = 0; f < 8; f++) slots.take(0, 0x1f, f);
  else for (let f = 0; f < 4; f++) slots.take(0, 1, f);

  let devices = pciDevices(def, family);
  // A bus an address names must exist: libvirt adds the controller that makes it (a root port on q35, a bridge on i440fx).
  const named = new Set(devices.flatMap((p) => (p.device.address?.type === 'pci' && p.device.address.bus > 0 ? [p.device.address.bus] : [])));
  for (const bus of [...named].sort((a, b) => a - b)) {
    if (!controllers.some((c) => c.type === 'pci' && c.index === bus))
      controllers.push({ type: 'pci', index: bus, model: q35 ? 'pcie-root-port' : 'pci-bridge' });
  }
  devices = pciDevices(def, family);
  for (const p of devices) {
    const a = p.device.address;
    if (a?.type === 'pci' && p.pci.kind !== 'builtin' && !slots.take(a.bus, a.slot, a.function)) {
      throw new FerryError('XML_INVALID', `XML error: ${p.label}: PCI address ${pciSlotName(a)} is already in use`, { details: { element: 'address' } });
    }
  }
  for (const p of devices) {
    if (p.pci.kind === 'builtin') p.device.address = { type: 'pci', domain: 0, bus: 0, slot: p.pci.slot, function: p.pci.function };
    else if (p.pci.kind === 'integrated' && !p.device.address) {
      if (slots.take(0, p.pci.slot, p.pci.function)) p.device.address = { type: 'pci', domain: 0, bus: 0, slot: p.pci.slot, function: p.pci.function };
      else p.pci = { kind: q35 ? 'pcie' : 'pci' };
    }
  }
  placeUsbCompanions(def, slots, family, () => conventionalBus(def, slots, family));
  for (const p of devices.filter((x) => x.pci.kind === 'root-bus' && !x.device.address)) {
    let slot = 1;
    while (
      slot <= 0x1f &&
      !(slots.slotFree(0, slot) && !(family === 'i440fx' && slot === 2 && def.devices.videos.some((v) => v.model !== 'none' && v.model !== 'ramfb')))
    )
      slot++;
    if (slot > 0x1f) throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: ${p.label}: no free slot on the root bus`);
    slots.take(0, slot, 0);
    p.device.address = { type: 'pci', domain: 0, bus: 0, slot, function: 0 };
  }

  if (q35) {
    // Conventional PCI devices need a pcie-to-pci-bridge, which itself needs a root port.
    if (devices.some((p) => p.pci.kind === 'pci' && !p.device.address)) conventionalBus(def, slots, family);
    devices = pciDevices(def, family);
    const endpoints = devices.filter((p) => p.pci.kind === 'pcie' && !p.device.address);
    const ports = rootPorts(controllers);
    const freePorts = ports.filter((rp) => slots.isFree(rp.index, 0));
    for (let n = freePorts.length; n < endpoints.length; n++) {
      const rp: ControllerDefinition = { type: 'pci', index: nextPciIndex(controllers), model: 'pcie-root-port' };
      controllers.push(rp);
    }
    placeRootPorts(controllers, slots);
    for (const p of endpoints) {
      const port = rootPorts(controllers).find((rp) => slots.isFree(rp.index, 0));
      if (!port) throw new Error(`no free pcie-root-port for ${p.label}`);
      slots.take(port.index, 0, 0);
      p.device.address = { type: 'pci', domain: 0, bus: port.index, slot: 0, function: 0 };
    }
    for (const p of pciDevices(def, family).filter((x) => x.pci.kind === 'pci' && !x.device.address)) {
      p.device.address = nextConventionalSlot(def, slots, family, p.label, p.device);
    }
    placeSwitchPorts(def, slots);
    for (const c of controllers) if (c.model === 'dmi-to-pci-bridge' || c.model === 'pcie-expander-bus') c.modelName ??= PCI_MODEL_NAMES[c.model];
  } else {
    for (const c of controllers) if (c.model === 'pci-expander-bus') c.modelName ??= 'pxb';
    for (const p of devices.filter((x) => !x.device.address)) p.device.address = nextConventionalSlot(def, slots, family, p.label, p.device);
  }
}

function rootPorts(controllers: ControllerDefinition[]): ControllerDefinition[] {
  return controllers.filter((c) => c.type === 'pci' && c.model === 'pcie-root-port');
}

/** The last PCI bus number: a PCI controller's index is the bus it provides. */
const LAST_PCI_BUS = 255;

/** The index a new PCI controller takes: the one after the highest; past bus 255 there is none (its devices' bus='0x100' would not define again). */
function nextPciIndex(controllers: ControllerDefinition[]): number {
  const next = Math.max(0, ...controllers.filter((c) => c.type === 'pci' && c.index !== UNNUMBERED).map((c) => c.index)) + 1;
  if (next > LAST_PCI_BUS) {
    throw new FerryError(
      'XML_UNSUPPORTED',
      `unsupported configuration: a PCI controller added to this definition would need index ${next}, past the last PCI bus number (${LAST_PCI_BUS})`,
    );
  }
  return next;
}

/** Root ports go on pcie.0 from slot 2, eight functions to a slot, as libvirt lays them out; chassis = index, port = slot<<3|function. */
function placeRootPorts(controllers: ControllerDefinition[], slots: PciSlots): void {
  let slot = 1;
  let fn = 8;
  let first: ControllerDefinition | undefined;
  for (const rp of rootPorts(controllers).filter((c) => !c.address)) {
    if (fn === 8) {
      do slot++;
      while (slot <= 0x1e && !slots.slotFree(0, slot));
      if (slot > 0x1e) throw new FerryError('XML_UNSUPPORTED', 'unsupported configuration: no room on pcie.0 for more pcie-root-ports');
      fn = 0;
      first = rp;
    }
    slots.take(0, slot, fn);
    rp.address = { type: 'pci', domain: 0, bus: 0, slot, function: fn };
    if (fn > 0 && first?.address?.type === 'pci') first.address.multifunction = true;
    fn++;
  }
  for (const rp of rootPorts(controllers)) {
    rp.modelName ??= 'pcie-root-port';
    rp.chassis ??= rp.index;
    if (rp.port === undefined && rp.address?.type === 'pci') rp.port = (rp.address.slot << 3) | rp.address.function;
  }
}

/** The bus conventional PCI devices go on: pci.0 on i440fx; a pcie-to-pci-bridge (added when absent) on q35. */
function conventionalBus(def: DomainDefinition, slots: PciSlots, family: MachineFamily): number {
  if (family === 'i440fx') return 0;
  const controllers = def.devices.controllers;
  // A pci-bridge is a conventional bus once it has a place of its own: an address, or a DMI-to-PCI bridge to go on.
  const hasDmi = controllers.some((c) => c.type === 'pci' && c.model === 'dmi-to-pci-bridge');
  const bridge = controllers.find(
    (c) => c.type === 'pci' && (c.model === 'pcie-to-pci-bridge' || (c.model === 'pci-bridge' && (c.address !== undefined || hasDmi))),
  );
  if (bridge) return bridge.index;
  const added: ControllerDefinition = { type: 'pci', index: nextPciIndex(controllers), model: 'pcie-to-pci-bridge', modelName: 'pcie-pci-bridge' };
  controllers.push(added);
  void slots;
  return added.index;
}

function nextConventionalSlot(
  def: DomainDefinition,
  slots: PciSlots,
  family: MachineFamily,
  label: string,
  self?: Placed,
): { type: 'pci'; domain: number; bus: number; slot: number; function: number } {
  // A bridge goes on a bus other than its own; only a bridge goes on a DMI-to-PCI bridge (its slots are not hot-pluggable, as libvirt keeps them).
  const isBridge = (self as ControllerDefinition | undefined)?.model === 'pci-bridge';
  const conventional = def.devices.controllers.filter(
    (c) =>
      c.type === 'pci' &&
      c !== self &&
      (c.model === 'pci-bridge' || (family === 'q35' && c.model === 'pcie-to-pci-bridge') || (isBridge && c.model === 'dmi-to-pci-bridge')),
  );
  const buses = family === 'i440fx' ? [0, ...conventional.map((c) => c.index)] : conventional.map((c) => c.index);
  for (const bus of buses) {
    // Slot 0 of a bridge's bus is taken by nothing on a DMI-to-PCI bridge only (libvirt's minSlot); pci-bridges start at 1.
    const minSlot = bus === 0 ? 2 : conventional.some((c) => c.index === bus && c.model === 'dmi-to-pci-bridge') ? 0 : 1;
    for (let slot = minSlot; slot <= 0x1f; slot++) {
      if (bus === 0 && family === 'i440fx' && slot === 2 && def.devices.videos.some((v) => v.model !== 'none' && v.model !== 'ramfb')) continue;
      if (slots.slotFree(bus, slot)) {
        slots.take(bus, slot, 0);
        return { type: 'pci', domain: 0, bus, slot, function: 0 };
      }
    }
  }
  throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: ${label}: no free PCI slot (add a <controller type='pci' model='pci-bridge'>)`);
}

/** pcie-switch-downstream-ports without an address: the first free slot of a switch's upstream port; port = slot, as libvirt numbers them. */
function placeSwitchPorts(def: DomainDefinition, slots: PciSlots): void {
  const controllers = def.devices.controllers;
  const upstream = controllers.filter((c) => c.type === 'pci' && c.model === 'pcie-switch-upstream-port');
  for (const d of controllers.filter((c) => c.type === 'pci' && c.model === 'pcie-switch-downstream-port')) {
    if (!d.address) {
      const free = upstream.flatMap((u) => Array.from({ length: 32 }, (_, slot) => [u.index, slot] as const)).find(([bus, slot]) => slots.slotFree(bus, slot));
      if (!free)
        throw new FerryError(
          'XML_UNSUPPORTED',
          `unsupported configuration: <controller type='pci' index='${d.index}'>: a pcie-switch-downstream-port needs a pcie-switch-upstream-port with a free slot`,
          { details: { element: 'controller' } },
        );
      slots.take(free[0], free[1], 0);
      d.address = { type: 'pci', domain: 0, bus: free[0], slot: free[1], function: 0 };
    }
    d.modelName ??= 'xio3130-downstream';
    d.chassis ??= d.index;
    if (d.port === undefined && d.address.type === 'pci') d.port = d.address.slot;
  }
  for (const u of upstream) u.modelName ??= 'x3130-upstream';
}

/** An EHCI controller and its UHCI companions share one slot: EHCI at function 7, UHCI1-3 at 0-2. */
function placeUsbCompanions(def: DomainDefinition, slots: PciSlots, family: MachineFamily, bus: () => number): void {
  const usb = def.devices.controllers.filter((c) => c.type === 'usb');
  const byIndex = new Map<number, ControllerDefinition[]>();
  for (const c of usb) byIndex.set(c.index, [...(byIndex.get(c.index) ?? []), c]);
  for (const group of byIndex.values()) {
    const ehci = group.find((c) => c.model === 'ich9-ehci1');
    const uhcis = group.filter((c) => c.model?.startsWith('ich9-uhci'));
    if (!ehci || uhcis.length === 0 || group.some((c) => c.address)) continue;
    // q35 has them where ICH9 has its USB, on the root bus at 1d; i440fx on pci.0.
    const b = family === 'q35' ? 0 : bus();
    let slot = family === 'q35' ? 0x1d : 3;
    while (!slots.slotFree(b, slot)) slot++;
    ehci.address = { type: 'pci', domain: 0, bus: b, slot, function: 7 };
    slots.take(b, slot, 7);
    for (const u of uhcis) {
      const fn = Number(u.model?.slice(-1)) - 1;
      u.address = { type: 'pci', domain: 0, bus: b, slot, function: fn, ...(fn === 0 ? { multifunction: true } : {}) };
      slots.take(b, slot, fn);
    }
  }
}
