import { xmlInvalid } from './xml-errors.js';

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  bytes: 1,
  kb: 1000,
  k: 1024,
  kib: 1024,
  mb: 1000 ** 2,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1000 ** 4,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Converts libvirt's scaled integer (`<memory unit='MiB'>512</memory>`) to KiB. */
export function toKiB(value: string, unit: string | undefined, element: string): number {
  if (!/^\d+$/.test(value.trim())) throw xmlInvalid(element, `invalid value '${value}'`);
  const factor = UNIT_BYTES[(unit ?? 'KiB').toLowerCase()];
  if (factor === undefined) throw xmlInvalid(element, `unknown unit '${unit}'`);
  const kib = Math.ceil((Number(value) * factor) / 1024);
  if (!Number.isSafeInteger(kib) || kib <= 0) throw xmlInvalid(element, `value '${value}' is out of range`);
  return kib;
}

/** A scaled integer in bytes (`<max_size unit='KiB'>`); `defaultUnit` when unit= is absent. */
export function toBytes(value: string, unit: string | undefined, element: string, defaultUnit = 'bytes'): number {
  if (!/^\d+$/.test(value.trim())) throw xmlInvalid(element, `invalid value '${value}'`);
  const factor = UNIT_BYTES[(unit ?? defaultUnit).toLowerCase()];
  if (factor === undefined) throw xmlInvalid(element, `unknown unit '${unit}'`);
  const bytes = Number(value) * factor;
  if (!Number.isSafeInteger(bytes)) throw xmlInvalid(element, `value '${value}' is out of range`);
  return bytes;
}
