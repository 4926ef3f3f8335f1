import type { XmlElement } from '../../../src/shared/xml.js';
import { domainContext, type Expectation, expectedArg } from './device-args.js';
import { labelledDevices } from './device-label.js';
import type { QemuArg } from './qemu-args.js';

/** A device element of the domain that no argument of the command line stands for. */
export interface MissingDevice {
  label: string;
  device: XmlElement;
  /** What libvirt would have passed, e.g. `-device ide-hd`. */
  expected: string;
}

export interface ArgvMatch {
  missing: MissingDevice[];
  /** The argument found for each device, by label (devices libvirt builds implicitly have none). */
  found: Map<string, QemuArg>;
}

/**
 * Checks that every device element of `domain` has its own argument on the
 * command line (device-args.ts says which): each argument stands for one
 * device, so three disks need three disk front ends.
 */
export function devicesOnArgv(domain: XmlElement, argv: readonly QemuArg[]): ArgvMatch {
  const ctx = domainContext(domain);
  const wanted = labelledDevices(domain)
    .map((d) => ({ ...d, exp: expectedArg(d.device, ctx) }))
    .filter((d): d is typeof d & { exp: Extract<Expectation, { kind: 'arg' }> } => d.exp.kind === 'arg');
  const used = new Set<number>();
  const candidates = (exp: Extract<Expectation, { kind: 'arg' }>): number[] =>
    argv.flatMap((a, i) => (satisfies(a, exp) ? [i] : []));
  // The most constrained devices choose first, so a generic one cannot take another's only argument.
  wanted.sort((x, y) => candidates(x.exp).length - candidates(y.exp).length);
  const missing: MissingDevice[] = [];
  const found = new Map<string, QemuArg>();
  for (const w of wanted) {
    const i = candidates(w.exp).find((c) => !used.has(c));
    if (i === undefined) missing.push({ label: w.label, device: w.device, expected: describe(w.exp) });
    else {
      used.add(i);
      found.set(w.label, argv[i] as QemuArg);
    }
  }
  return { missing, found };
}

function satisfies(a: QemuArg, exp: Extract<Expectation, { kind: 'arg' }>): boolean {
  if (a.opt !== exp.opt) return false;
  if (exp.drivers.length > 0 && !exp.drivers.includes(a.driver)) return false;
  return exp.valueIncludes === undefined || a.value.includes(exp.valueIncludes);
}

export function describe(exp: Expectation): string {
  if (exp.kind === 'implicit') return `(none: ${exp.why})`;
  const what = exp.drivers.length === 0 ? '' : ` ${exp.drivers.slice(0, 3).join('|')}`;
  return `${exp.opt}${what}${exp.valueIncludes ? ` …${exp.valueIncludes}…` : ''}`;
}
