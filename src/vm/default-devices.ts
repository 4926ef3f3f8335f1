import type { ControllerDefinition, DomainDefinition } from './definition.js';
import type { MachineFamily } from './machine-family.js';

/**
 * The devices libvirt adds to a definition at define time, added the same way
 * so dumpxml shows the whole machine: the root bus, the machine's built-in
 * disk controller (i440fx's IDE one when a disk is on it), a USB controller, the virtio-serial controller channels
 * need, the serial a serial console stands for, a video for graphics, an
 * audio backend for sound, the PS/2 mouse and keyboard an x86 machine always
 * has, and the default balloon.
 */
export function addDefaultDevices(def: DomainDefinition, family: MachineFamily): void {
  const d = def.devices;
  const has = (type: ControllerDefinition['type'], index = 0): boolean => d.controllers.some((c) => c.type === type && c.index === index);
  const add = (c: ControllerDefinition): void => void d.controllers.push(c);
  // isapc (an ISA-only PC) has no PCI root bus to show, as with libvirt.
  if (!has('pci') && def.os.machine !== 'isapc') d.controllers.unshift({ type: 'pci', index: 0, model: family === 'q35' ? 'pcie-root' : 'pci-root' });
  if (family === 'q35' && !has('sata')) add({ type: 'sata', index: 0 });
  // A disk controller appears with the first disk on it (libvirt's implicit controllers); q35's SATA is always there.
  const driveControllers = (bus: string): number[] =>
    [...new Set(d.disks.filter((k) => k.target.bus === bus).map((k) => (k.address?.type === 'drive' ? k.address.controller : 0)))].sort();
  if (family === 'i440fx' && driveControllers('ide').length > 0 && !has('ide')) add({ type: 'ide', index: 0 });
  if (family === 'i440fx') for (const i of driveControllers('sata')) if (!has('sata', i)) add({ type: 'sata', index: i });
  if (driveControllers('fdc').length > 0 && !has('fdc')) add({ type: 'fdc', index: 0 });
  // isapc has no PCI bus, so no USB controller (libvirt adds none; QEMU: Bus 'pci.0' not found).
  if (def.os.machine !== 'isapc' && !d.controllers.some((c) => c.type === 'usb'))
    add({ type: 'usb', index: 0, model: family === 'q35' ? 'qemu-xhci' : 'piix3-uhci' });
  for (const c of d.controllers) if (c.type === 'usb' && c.index === 0 && c.model === undefined) c.model = family === 'q35' ? 'qemu-xhci' : 'piix3-uhci';
  for (const i of driveControllers('scsi')) if (!has('scsi', i)) add({ type: 'scsi', index: i, model: 'virtio-scsi' });
  for (const c of d.controllers) if (c.type === 'scsi' && c.model === undefined) c.model = 'virtio-scsi';
  // A virtio-serial controller for each one a port names, or index 0 when there is none at all (guestfwd channels are no ports).
  const ports = [...d.channels.filter((c) => c.targetType === 'virtio'), ...d.consoles.filter((c) => c.targetType === 'virtio')];
  const virtioSerialUsers = ports.length;
  for (const index of new Set(ports.flatMap((p) => (p.address?.type === 'virtio-serial' ? [p.address.controller] : [])))) {
    if (!has('virtio-serial', index)) add({ type: 'virtio-serial', index });
  }
  if (virtioSerialUsers > 0 && !d.controllers.some((c) => c.type === 'virtio-serial')) add({ type: 'virtio-serial', index: 0 });

  // <console target type='serial'> is serial port N: libvirt adds the serial when there is none.
  for (const c of d.consoles) {
    if (c.targetType !== 'serial' || d.serials.some((s) => s.port === c.port)) continue;
    const { targetType: _t, alias: _a, address: _ad, ...source } = c;
    d.serials.push({ ...source, port: c.port, targetType: 'isa-serial' });
  }
  if (d.graphics.length > 0 && d.videos.length === 0) d.videos.push({ model: 'vga' });
  if (d.sounds.length > 0 || d.graphics.some((g) => g.type === 'spice')) {
    if (d.audios.length === 0) d.audios.push({ id: 1, type: d.graphics.some((g) => g.type === 'spice') ? 'spice' : 'none' });
  }
  const firstAudio = d.audios[0];
  for (const s of d.sounds) if (s.audioId === undefined && firstAudio) s.audioId = firstAudio.id;
  if (def.platform.ps2 !== false) {
    if (!d.inputs.some((i) => i.type === 'mouse' && i.bus === 'ps2')) d.inputs.push({ type: 'mouse', bus: 'ps2' });
    if (!d.inputs.some((i) => i.type === 'keyboard' && i.bus === 'ps2')) d.inputs.push({ type: 'keyboard', bus: 'ps2' });
  }
  if (!d.memballoon) d.memballoon = { model: 'virtio' };
}
