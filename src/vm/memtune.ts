import { child, el, type XmlElement } from '../shared/xml.js';
import type { MemtuneDefinition } from './definition.js';
import { xmlInvalid } from './xml-errors.js';

/**
 * <memtune>: the domain's memory limits (hard_limit, soft_limit,
 * swap_hard_limit), applied through its memory cgroup by
 * src/host/cgroup-tuning.ts. Values are kept in KiB as libvirt stores them;
 * 9007199254740991 KiB (libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED) or more
 * is unlimited and not kept; 0 is kept (dumpxml shows it) and applied as
 * unlimited. <min_guarantee> stays refused: libvirt's QEMU driver refuses it.
 */
export const MEMORY_PARAM_UNLIMITED = 9007199254740991;

const UNIT = { attrs: { unit: true } } as const;
export const MEMTUNE_RULE = { children: { hard_limit: UNIT, soft_limit: UNIT, swap_hard_limit: UNIT } } as const;

const UNIT_BYTES: Record<string, bigint> = {
  b: 1n,
  bytes: 1n,
  kb: 1000n,
  k: 1024n,
  kib: 1024n,
  mb: 1000n ** 2n,
  m: 1024n ** 2n,
  mib: 1024n ** 2n,
  gb: 1000n ** 3n,
  g: 1024n ** 3n,
  gib: 1024n ** 3n,
  tb: 1000n ** 4n,
  t: 1024n ** 4n,
  tib: 1024n ** 4n,
  pb: 1000n ** 5n,
  p: 1024n ** 5n,
  pib: 1024n ** 5n,
  eb: 1000n ** 6n,
  e: 1024n ** 6n,
  eib: 1024n ** 6n,
};

const FIELDS = { hard_limit: 'hardLimitKiB', soft_limit: 'softLimitKiB', swap_hard_limit: 'swapHardLimitKiB' } as const;

/** One limit in KiB (rounded up), as libvirt's virDomainParseMemoryLimit: at most unlimited, which it becomes. */
function limitKiB(e: XmlElement, name: string): number {
  const t = e.text.trim();
  if (!/^\d+$/.test(t)) throw xmlInvalid('memtune', `invalid value '${e.text}' for ${name}`);
  const factor = UNIT_BYTES[(e.attrs.unit ?? 'KiB').toLowerCase()];
  if (factor === undefined) throw xmlInvalid('memtune', `unknown unit '${e.attrs.unit}' for ${name}`);
  const bytes = BigInt(t) * factor;
  if (bytes > BigInt(MEMORY_PARAM_UNLIMITED) * 1024n)
    throw xmlInvalid('memtune', `${name} value '${t}' is out of range (at most ${MEMORY_PARAM_UNLIMITED} KiB)`);
  return Number((bytes + 1023n) / 1024n);
}

/** Whether a limit is set (neither absent nor unlimited); 0 counts as set, as libvirt's virMemoryLimitIsSet. */
export function limitIsSet(kib: number | undefined): kib is number {
  return kib !== undefined && kib < MEMORY_PARAM_UNLIMITED;
}

export function parseMemtune(e: XmlElement | undefined): MemtuneDefinition | undefined {
  if (!e) return undefined;
  const out: MemtuneDefinition = {};
  for (const [name, key] of Object.entries(FIELDS)) {
    const x = child(e, name);
    if (!x) continue;
    const kib = limitKiB(x, name);
    if (limitIsSet(kib)) out[key] = kib;
  }
  // libvirt's rule; a 0 (applied as unlimited) does not take part.
  const { hardLimitKiB: hard, swapHardLimitKiB: swap } = out;
  if (hard && swap && hard > swap) throw xmlInvalid('memtune', 'swap_hard_limit cannot be less than hard_limit');
  return Object.keys(out).length === 0 ? undefined : out;
}

export function renderMemtune(m: MemtuneDefinition | undefined): XmlElement | undefined {
  if (!m) return undefined;
  return el(
    'memtune',
    {},
    Object.entries(FIELDS).map(([name, key]) => (m[key] === undefined ? undefined : el(name, { unit: 'KiB' }, String(m[key])))),
  );
}
