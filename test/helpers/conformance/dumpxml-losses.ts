import type { XmlElement } from '../../../src/shared/xml.js';
import { labelledDevices } from './device-label.js';

/** Something of the defined XML that ferry's dumpxml does not give back. */
export interface Loss {
  /** Where, from the device or top-level element down: disk[vda]/driver/@error_policy, vcpu/@cpuset. */
  path: string;
  /** lost: not in dumpxml at all; changed: there with another value; added: a device dumpxml has that was not defined. */
  kind: 'lost' | 'changed' | 'added';
  /** The defined value (and what dumpxml shows instead, for changed). */
  detail: string;
}

/**
 * The devices of the definition against those of its dumpxml: the same kinds
 * and counts, and every attribute, child element and text of each defined
 * device present, with the same value, in its counterpart. Devices pair up by
 * kind in document order (disks by target, interfaces by MAC).
 */
export function deviceLosses(defined: XmlElement, dumped: XmlElement): Loss[] {
  const out: Loss[] = [];
  const mine = labelledDevices(dumped);
  const theirs = labelledDevices(defined);
  const byKind = (list: typeof mine, kind: string) => list.filter((d) => d.device.name === kind);
  const kinds = [...new Set([...theirs, ...mine].map((d) => d.device.name))];
  for (const kind of kinds) {
    const want = byKind(theirs, kind);
    const have = byKind(mine, kind);
    const left = [...have];
    for (const w of want) {
      const idx = left.findIndex((h) => h.label === w.label);
      const h = idx >= 0 ? left.splice(idx, 1)[0] : left.shift();
      if (!h) out.push({ path: w.label, kind: 'lost', detail: 'the whole device' });
      else compareElement(w.device, h.device, w.label, out);
    }
    for (const h of left) out.push({ path: h.label, kind: 'added', detail: 'a device that was not defined' });
  }
  return out;
}

/** The same comparison for everything outside <devices>: the root's attributes and each top-level element. */
export function settingLosses(defined: XmlElement, dumped: XmlElement): Loss[] {
  const out: Loss[] = [];
  compareAttrs(defined, dumped, 'domain', out);
  const strip = (e: XmlElement): XmlElement => ({ ...e, children: e.children.filter((c) => c.name !== 'devices') });
  compareChildren(strip(defined), strip(dumped), '', out);
  return out;
}

function compareElement(want: XmlElement, have: XmlElement, path: string, out: Loss[]): void {
  compareAttrs(want, have, path, out);
  if (want.text !== '' && want.text !== have.text) {
    out.push(
      have.text === ''
        ? { path: `${path}/text()`, kind: 'lost', detail: want.text }
        : { path: `${path}/text()`, kind: 'changed', detail: `'${want.text}' → '${have.text}'` },
    );
  }
  compareChildren(want, have, path, out);
}

function compareAttrs(want: XmlElement, have: XmlElement, path: string, out: Loss[]): void {
  for (const [k, v] of Object.entries(want.attrs)) {
    // Namespace declarations are syntax: <qemu:commandline> itself is compared where it is.
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const got = have.attrs[k];
    if (got === undefined) out.push({ path: `${path}/@${k}`, kind: 'lost', detail: v });
    else if (got !== v) out.push({ path: `${path}/@${k}`, kind: 'changed', detail: `'${v}' → '${got}'` });
  }
}

function compareChildren(want: XmlElement, have: XmlElement, path: string, out: Loss[]): void {
  const seen = new Map<string, number>();
  for (const c of want.children) {
    const nth = seen.get(c.name) ?? 0;
    seen.set(c.name, nth + 1);
    const same = have.children.filter((h) => h.name === c.name);
    const many = want.children.filter((w) => w.name === c.name).length > 1;
    const p = `${path ? `${path}/` : ''}${c.name}${many ? `[${nth + 1}]` : ''}`;
    const h = same[nth];
    if (!h) out.push({ path: p, kind: 'lost', detail: 'the element' });
    else compareElement(c, h, p, out);
  }
}
