import { child, type XmlElement } from '../../shared/xml.js';
import { type DeviceAddress, parseAddress, renderAddress } from '../device-address.js';
import type { Placed } from '../definition.js';
import { el } from '../../shared/xml.js';
import { xmlInvalid } from '../xml-errors.js';

/** Reads a device's <address> and <alias> (a live definition's QEMU id); throws naming the device when malformed. */
export function parsePlacement(device: XmlElement, label: string): Placed {
  const result: Placed = {};
  const acpi = child(device, 'acpi')?.attrs.index;
  if (acpi !== undefined) {
    const n = Number(acpi);
    // QEMU's acpi-index: 1..16383 (the guest names the device eno<N>).
    if (!/^\d+$/.test(acpi) || n < 1 || n > 16383) throw xmlInvalid('acpi', `${label}: invalid acpi index '${acpi}' (1 to 16383)`);
    result.acpiIndex = n;
  }
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
  // A user alias (ua-...) is part of the definition, as in libvirt; ferry's own ids show only while running.
  const shown = p.alias !== undefined && (live || p.alias.startsWith('ua-'));
  return [
    p.acpiIndex === undefined ? undefined : el('acpi', { index: p.acpiIndex }),
    shown ? el('alias', { name: p.alias }) : undefined,
    renderAddress(p.address),
  ];
}

/** <acpi index=N>: for the PCI devices whose QEMU device takes acpi-index (disks, NICs, video). */
export const ACPI_RULE = { attrs: { index: true } } as const;

/**
 * acpi-index values must be unique in a domain, and are a PCI device's: a
 * device given one must sit on a PCI address (after addresses are assigned).
 */
export function checkAcpiIndexes(devices: Array<{ label: string; placed: Placed }>): void {
  const seen = new Map<number, string>();
  for (const { label, placed } of devices) {
    if (placed.acpiIndex === undefined) continue;
    if (placed.address?.type !== 'pci') throw xmlInvalid('acpi', `${label}: an acpi index is for PCI devices, and this one is not on a PCI address`);
    const other = seen.get(placed.acpiIndex);
    if (other !== undefined) throw xmlInvalid('acpi', `non unique acpi index '${placed.acpiIndex}' (${other} and ${label})`);
    seen.set(placed.acpiIndex, label);
  }
}

export const ALIAS_RULE = { attrs: { name: true } } as const;
