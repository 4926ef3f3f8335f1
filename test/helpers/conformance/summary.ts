import type { XmlElement } from '../../../src/shared/xml.js';
import { child } from '../../../src/shared/xml.js';
import type { Loss } from './dumpxml-losses.js';
import { reasonKey } from './refusal-reason.js';
import { type CaseResult, drops } from './run-conformance.js';

/** The acceptance the issue asks for: at least this share of the domains that need no host hardware. */
export const TARGET_SHARE = 0.9;

export interface Acceptance {
  total: number;
  inScope: number;
  accepted: number;
  needed: number;
  share: number;
}

export function acceptance(results: readonly CaseResult[]): Acceptance {
  const inScope = results.filter((r) => r.inScope);
  const accepted = inScope.filter((r) => r.accepted).length;
  return {
    total: results.length,
    inScope: inScope.length,
    accepted,
    needed: Math.ceil(inScope.length * TARGET_SHARE),
    share: inScope.length === 0 ? 0 : accepted / inScope.length,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** Counts of keys, most frequent first, as "  N  key" lines. */
export function ranked(keys: Iterable<string>, limit: number): string[] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const lines = sorted.slice(0, limit).map(([k, n]) => `  ${String(n).padStart(4)}  ${k}`);
  if (sorted.length > limit) lines.push(`  (${sorted.length - limit} more reasons)`);
  return lines;
}

/** The acceptance line, what is left out of the denominator and the commonest first refusals. */
export function acceptanceReport(results: readonly CaseResult[]): string {
  const a = acceptance(results);
  const hostRules = results.flatMap((r) => r.needsHost.map((n) => n.split(' ')[0] as string));
  const lines = [
    `accepted ${a.accepted} of ${a.inScope} libvirt test domains that need no host hardware (${pct(a.share)}); ${pct(TARGET_SHARE)} is ${a.needed}`,
    `left out of ${a.total}: ${results.filter((r) => r.needsHost.length > 0).length} need host hardware, ${results.filter((r) => r.libvirtRefuses && r.needsHost.length === 0).length} more libvirt itself refuses to start`,
    ...ranked(hostRules, 20).map((l) => `  ${l}`),
    'refused, by the first reason given (test/helpers/conformance/write-report.ts ranks every reason):',
    ...ranked(
      results.filter((r) => r.inScope && !r.accepted).flatMap((r) => r.refusals.slice(0, 1).map((f) => reasonKey(f))),
      15,
    ),
  ];
  return lines.join('\n');
}

/** "N domains: first few as name: item" for one category of problems. */
export function firstFew<T>(
  title: string,
  results: readonly CaseResult[],
  pick: (r: CaseResult) => T[],
  show: (t: T) => string,
  key: (t: T) => string = (t) => generic(show(t)),
): string {
  const hit = results.map((r) => ({ r, items: pick(r) })).filter((x) => x.items.length > 0);
  if (hit.length === 0) return `${title}: none`;
  const all = hit.flatMap((x) => x.items);
  const lines = [`${title}: ${hit.length} domains, ${all.length} in all; the commonest:`, ...ranked(all.map(key), 12), 'first domains:'];
  const n = 6;
  for (const x of hit.slice(0, n))
    lines.push(`  ${x.r.name}: ${x.items.slice(0, 4).map(show).join('; ')}${x.items.length > 4 ? `; (+${x.items.length - 4})` : ''}`);
  return lines.join('\n');
}

/** A problem without the parts that name one domain's device: disk[hda]/driver/@cache → disk/driver/@cache. */
export function generic(s: string): string {
  return s
    .replace(/\[[^\]]*\]/g, '')
    .replace(/ \([^)]*\)$/, '')
    .replace(/#\d+/g, '');
}

export const showLoss = (l: Loss): string => `${l.path} ${l.kind}${l.kind === 'added' ? '' : ` (${l.detail})`}`;

export function lossesReport(results: readonly CaseResult[], which: 'deviceLosses' | 'settingLosses', title: string): string {
  return firstFew(
    title,
    results.filter((r) => r.accepted),
    (r) => drops(r[which]),
    showLoss,
  );
}

/** A device as its kind and the attributes that choose its QEMU device: controller type='usb' model='piix3-uhci'. */
export function deviceKind(d: XmlElement): string {
  const a = d.attrs;
  const pick = (...names: string[]): string =>
    names
      .filter((n) => a[n] !== undefined)
      .map((n) => ` ${n}='${a[n]}'`)
      .join('');
  switch (d.name) {
    case 'disk':
      return `disk${pick('type', 'device')} bus='${child(d, 'target')?.attrs.bus ?? ''}'`;
    case 'interface':
      return `interface${pick('type')} model='${child(d, 'model')?.attrs.type ?? ''}'`;
    case 'video':
      return `video model='${child(d, 'model')?.attrs.type ?? ''}'`;
    case 'serial':
    case 'console':
    case 'channel':
    case 'parallel':
      return `${d.name}${pick('type')} target='${child(d, 'target')?.attrs.type ?? ''}'`;
    default:
      return `${d.name}${pick('type', 'model', 'bus', 'mode')}`;
  }
}
