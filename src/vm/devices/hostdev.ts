import { child, type XmlElement } from '../../shared/xml.js';
import type { HostdevDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';

/** A host device is kept as written (dumpxml gives it back unchanged); these are the parts ferry passes to QEMU. */
export const HOSTDEV_RULE: ElementRule = {
  attrs: { mode: ['subsystem'], type: ['pci', 'usb', 'mdev', 'scsi'], managed: ['yes', 'no'], model: true },
  label: (e, i) => `<hostdev type='${e.attrs.type ?? '?'}'> #${i}`,
  children: {
    source: {
      children: {
        address: { attrs: { domain: true, bus: true, slot: true, function: true, device: true, uuid: true, target: true, unit: true } },
        vendor: { attrs: { id: true } },
        product: { attrs: { id: true } },
        adapter: { attrs: { name: true } },
      },
    },
    alias: { attrs: { name: true } },
  },
};

export function parseHostdev(hostdev: XmlElement): HostdevDefinition {
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
