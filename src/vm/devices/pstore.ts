import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { Placed } from '../definition.js';
import { toKiB } from '../memory-units.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

/**
 * <pstore backend='acpi-erst'>: a persistent store for the guest's crash
 * records (ACPI ERST, Linux's pstore), a file on the host that QEMU maps as a
 * shared memory backend (QEMU sizes a new, empty file). A live migration
 * sends it as guest RAM, into the destination's own file (not yet checked by
 * a test).
 */
export interface PstoreDefinition extends Placed {
  backend: 'acpi-erst';
  path: string;
  sizeKiB: number;
}

export const PSTORE_RULE: ElementRule = {
  attrs: { backend: ['acpi-erst'] },
  label: () => "<pstore backend='acpi-erst'>",
  children: { path: {}, size: { attrs: { unit: true } }, alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parsePstore(e: XmlElement): PstoreDefinition {
  const label = "<pstore backend='acpi-erst'>";
  const backend = oneOf(e.attrs.backend ?? '', ['acpi-erst'] as const, 'pstore', 'backend');
  const path = child(e, 'path')?.text.trim();
  if (!path || !path.startsWith('/')) throw xmlInvalid('path', `${label}: needs an absolute <path>`);
  const size = child(e, 'size');
  if (!size) throw xmlInvalid('size', `${label}: needs a <size>`);
  const sizeKiB = toKiB(size.text, size.attrs.unit ?? 'KiB', 'size');
  // QEMU's ERST wants whole 4 KiB pages (its record size) and at least one.
  if (sizeKiB < 4 || sizeKiB % 4 !== 0) throw xmlInvalid('size', `${label}: size must be a multiple of 4 KiB`);
  return { backend, path, sizeKiB, ...parsePlacement(e, label) };
}

export function renderPstore(p: PstoreDefinition, live: boolean): XmlElement {
  return el('pstore', { backend: p.backend }, [el('path', {}, p.path), el('size', { unit: 'KiB' }, String(p.sizeKiB)), ...renderPlacement(p, live)]);
}
