import { child, type XmlElement } from '../../../src/shared/xml.js';
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
  const candidates = (exp: Extract<Expectation, { kind: 'arg' }>): number[] => argv.flatMap((a, i) => (satisfies(a, exp) ? [i] : []));
  // The most constrained devices choose first, so a generic one cannot take another's only argument.
  wanted.sort((x, y) => candidates(x.exp).length - candidates(y.exp).length);
  const missing: MissingDevice[] = [];
  const found = new Map<string, QemuArg>();
  for (const w of wanted) {
    const free = candidates(w.exp).filter((c) => !used.has(c));
    // Among arguments of the right kind, the one at the device's address (or naming its MAC, tag, ...) is its own.
    const i = free.reduce<number | undefined>(
      (best, c) => (best === undefined || affinity(w.device, argv[c] as QemuArg) > affinity(w.device, argv[best] as QemuArg) ? c : best),
      undefined,
    );
    if (i === undefined) missing.push({ label: w.label, device: w.device, expected: describe(w.exp) });
    else {
      used.add(i);
      found.set(w.label, argv[i] as QemuArg);
    }
  }
  return { missing, found };
}

/** How surely an argument is this device's own: its address, then values they share (a MAC, a mount tag, a channel name). */
function affinity(device: XmlElement, a: QemuArg): number {
  let score = 0;
  const addr = child(device, 'address')?.attrs;
  const num = (v: string | undefined): number => Number.parseInt(v ?? '0', v?.startsWith('0x') ? 16 : 10);
  if (addr?.type === 'pci') {
    const bus = num(addr.bus);
    const fn = num(addr.function);
    const where = `0x${num(addr.slot).toString(16)}${fn ? `.0x${fn.toString(16)}` : ''}`;
    if (a.props.addr === where && (bus === 0 ? ['pci.0', 'pcie.0'] : [`pci.${bus}`]).includes(a.props.bus ?? '')) score += 4;
  } else if (addr?.type === 'drive') {
    if ((a.props.bus === `ide.${addr.bus ?? 0}` && a.props.unit === (addr.unit ?? '0')) || a.props.bus === `sata${addr.controller ?? 0}.${addr.unit ?? 0}`)
      score += 4;
  } else if (addr?.type === 'usb') {
    if (a.props.bus === `usb.${addr.bus ?? 0}` && a.props.port === addr.port) score += 4;
  }
  const values = new Set<string>();
  const walk = (e: XmlElement): void => {
    for (const v of Object.values(e.attrs)) if (v.length >= 3 && !/^(yes|no|on|off)$/.test(v)) values.add(v);
    if (e.name !== 'address') e.children.forEach(walk);
  };
  walk(device);
  for (const v of Object.values(a.props)) if (values.has(v)) score += 1;
  return score;
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
