import { xmlInvalid } from './xml-errors.js';

/** libvirt's bitmap limit for a cpuset (VIR_DOMAIN_CPUMASK_LEN). */
const MAX_CPU_ID = 16383;

/**
 * Parses a libvirt CPU list ("0-3,^2", "1,3-5") into sorted, distinct CPU ids.
 * Refuses an empty result, as libvirt does ("Invalid value of 'cpuset'").
 */
export function parseCpuset(text: string, where: string): number[] {
  const on = new Set<number>();
  const off = new Set<number>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const negate = part.startsWith('^');
    const body = negate ? part.slice(1) : part;
    const m = /^(\d+)(?:-(\d+))?$/.exec(body);
    if (!m) throw xmlInvalid(where, `invalid cpuset '${text}' (expected a list such as 0-3,^2)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to > MAX_CPU_ID || (negate && m[2] !== undefined)) throw xmlInvalid(where, `invalid cpuset '${text}'`);
    for (let id = from; id <= to; id++) (negate ? off : on).add(id);
  }
  const ids = [...on].filter((id) => !off.has(id)).sort((a, b) => a - b);
  if (ids.length === 0) throw xmlInvalid(where, `invalid cpuset '${text}': it names no CPU`);
  return ids;
}

/** The canonical form libvirt writes back: ranges, ascending ("0-1,3"). */
export function formatCpuset(ids: readonly number[]): string {
  const out: string[] = [];
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i] as number;
    let end = start;
    while (sorted[i + 1] === end + 1) end = sorted[++i] as number;
    out.push(end === start ? String(start) : `${start}-${end}`);
  }
  return out.join(',');
}

/** A cpuset as libvirt writes it back. */
export function canonicalCpuset(text: string, where: string): string {
  return formatCpuset(parseCpuset(text, where));
}
