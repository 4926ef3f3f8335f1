import type { XmlElement } from '../shared/xml.js';
import { xmlInvalid } from './xml-errors.js';

/** Values of libvirt XML attributes, each refused with an XML_INVALID error naming its element. */
export function positiveInt(value: string, element: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw xmlInvalid(element, `invalid value '${value}' (expected a positive integer)`);
  }
  return n;
}

export function nonNegativeInt(value: string, element: string): number {
  return value.trim() === '0' ? 0 : positiveInt(value, element);
}

/** An integer that may be written in hex (0x1f), as libvirt's addresses and ports are. */
export function anyInt(value: string, element: string): number {
  const t = value.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^-?\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw xmlInvalid(element, `invalid value '${value}' (expected an integer)`);
  return n;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], element: string, attr: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw xmlInvalid(element, `unknown ${attr} '${value}' (expected one of ${allowed.join(', ')})`);
}

/** libvirt's yes/no and on/off switches. */
export function yesNo(value: string | undefined, element: string, attr: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'yes' || value === 'on') return true;
  if (value === 'no' || value === 'off') return false;
  throw xmlInvalid(element, `invalid ${attr} '${value}' (expected yes or no)`);
}

export function optionalInt(el: XmlElement | undefined, attr: string, parse: (v: string, e: string) => number = nonNegativeInt): number | undefined {
  const v = el?.attrs[attr];
  return v === undefined ? undefined : parse(v, el?.name ?? attr);
}
