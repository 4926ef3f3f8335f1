import { el, type XmlElement } from '../shared/xml.js';
import type { ElementRule } from './schema/element-rule.js';

/** Where a device sits: libvirt's <address>, the kinds ferry places devices on. */
export type DeviceAddress =
  | { type: 'pci'; domain: number; bus: number; slot: number; function: number; /** as written: on, off, or absent */ multifunction?: boolean }
  | { type: 'drive'; controller: number; bus: number; target: number; unit: number }
  | { type: 'virtio-serial'; controller: number; bus: number; port: number }
  | { type: 'usb'; bus: number; port: string };

export const ADDRESS_RULE: ElementRule = {
  attrs: {
    type: ['pci', 'drive', 'virtio-serial', 'usb'],
    domain: true,
    bus: true,
    slot: true,
    function: true,
    multifunction: ['on', 'off'],
    controller: true,
    target: true,
    unit: true,
    port: true,
  },
};

function num(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = v.startsWith('0x') ? Number.parseInt(v.slice(2), 16) : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : Number.NaN;
}

/** Reads an <address>; undefined when malformed (the caller names the device). */
export function parseAddress(a: XmlElement): DeviceAddress | undefined {
  let r: DeviceAddress;
  switch (a.attrs.type) {
    case 'pci':
      r = { type: 'pci', domain: num(a.attrs.domain), bus: num(a.attrs.bus), slot: num(a.attrs.slot), function: num(a.attrs.function) };
      if (a.attrs.multifunction === 'on' || a.attrs.multifunction === 'off') r.multifunction = a.attrs.multifunction === 'on';
      if (r.domain !== 0 || r.bus > 0xff || r.slot > 0x1f || r.function > 7) return undefined;
      break;
    case 'drive':
      r = { type: 'drive', controller: num(a.attrs.controller), bus: num(a.attrs.bus), target: num(a.attrs.target), unit: num(a.attrs.unit) };
      break;
    case 'virtio-serial':
      r = { type: 'virtio-serial', controller: num(a.attrs.controller), bus: num(a.attrs.bus), port: num(a.attrs.port) };
      break;
    case 'usb':
      if (a.attrs.port !== undefined && !/^\d+(\.\d+)*$/.test(a.attrs.port)) return undefined;
      r = { type: 'usb', bus: num(a.attrs.bus), port: a.attrs.port ?? '' };
      break;
    default:
      return undefined;
  }
  return Object.values(r).some((v) => typeof v === 'number' && Number.isNaN(v)) ? undefined : r;
}

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;

export function renderAddress(a: DeviceAddress | undefined): XmlElement | undefined {
  if (!a) return undefined;
  switch (a.type) {
    case 'pci':
      return el('address', {
        type: 'pci',
        domain: hex(a.domain, 4),
        bus: hex(a.bus, 2),
        slot: hex(a.slot, 2),
        function: hex(a.function, 1),
        multifunction: a.multifunction === undefined ? undefined : a.multifunction ? 'on' : 'off',
      });
    case 'drive':
      return el('address', { type: 'drive', controller: a.controller, bus: a.bus, target: a.target, unit: a.unit });
    case 'virtio-serial':
      return el('address', { type: 'virtio-serial', controller: a.controller, bus: a.bus, port: a.port });
    case 'usb':
      return el('address', { type: 'usb', bus: a.bus, port: a.port || undefined });
  }
}

/** "0000:00:02.0", for messages and the PCI allocator's keys. */
export function pciSlotName(a: { bus: number; slot: number; function: number }): string {
  return `0000:${a.bus.toString(16).padStart(2, '0')}:${a.slot.toString(16).padStart(2, '0')}.${a.function}`;
}
