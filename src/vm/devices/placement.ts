import { child, type XmlElement } from '../../shared/xml.js';
import { type DeviceAddress, parseAddress, renderAddress } from '../device-address.js';
import type { Placed } from '../definition.js';
import { el } from '../../shared/xml.js';
import { xmlInvalid } from '../xml-errors.js';

/** Reads a device's <address> and <alias> (a live definition's QEMU id); throws naming the device when malformed. */
export function parsePlacement(device: XmlElement, label: string): Placed {
  const result: Placed = {};
  const alias = child(device, 'alias')?.attrs.name;
  if (alias !== undefined) {
    if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(alias)) throw xmlInvalid('alias', `${label}: invalid alias '${alias}'`);
    result.alias = alias;
  }
  const a = child(device, 'address');
  if (!a) return result;
  const address: DeviceAddress | undefined = parseAddress(a);
  if (!address) throw xmlInvalid('address', `${label}: invalid address ${JSON.stringify(a.attrs)}`);
  return { ...result, address };
}

/** <alias> (live XML) and <address>, in libvirt's order at the end of a device. */
export function renderPlacement(p: Placed, live: boolean): Array<XmlElement | undefined> {
  return [live && p.alias ? el('alias', { name: p.alias }) : undefined, renderAddress(p.address)];
}

export const ALIAS_RULE = { attrs: { name: true } } as const;
