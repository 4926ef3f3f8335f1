/**
 * QEMU command lines as the conformance harness reads them: ferry's argv (an
 * array) and libvirt's reference command lines (its tests' *.args files, a
 * shell command with one option per line).
 */

/** One option of a QEMU command line, its value decoded: `-device '{"driver":"ide-cd",...}'` → opt -device, driver ide-cd. */
export interface QemuArg {
  opt: string;
  /** The raw value as QEMU got it ('' for a flag). */
  value: string;
  /** The front-end or back-end type: -device's driver, -object's qom-type, -netdev/-chardev/-audiodev's type; for -vnc/-spice the option name. */
  driver: string;
  props: Record<string, string>;
}

/** Options that take no value (the rest take exactly one). */
const FLAGS = new Set([
  '-S',
  '-no-user-config',
  '-nodefaults',
  '-no-shutdown',
  '-no-reboot',
  '-no-acpi',
  '-no-hpet',
  '-enable-kvm',
  '-nographic',
  '-snapshot',
  '-daemonize',
  '-no-fd-bootchk',
  '-enable-fips',
  '-mem-prealloc',
  '-full-screen',
]);

/** Splits a command line into QemuArgs (the binary and anything before it must already be gone). */
export function readArgv(argv: readonly string[]): QemuArg[] {
  const out: QemuArg[] = [];
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i] as string;
    if (!opt.startsWith('-')) continue;
    if (FLAGS.has(opt) || i + 1 >= argv.length || ((argv[i + 1] as string).startsWith('-') && !/^-\d/.test(argv[i + 1] as string))) {
      out.push({ opt, value: '', driver: opt.slice(1), props: {} });
      continue;
    }
    const value = argv[++i] as string;
    out.push(decode(opt, value));
  }
  return out;
}

function decode(opt: string, value: string): QemuArg {
  let props: Record<string, string>;
  let first = '';
  if (value.startsWith('{')) {
    const json = JSON.parse(value) as Record<string, unknown>;
    props = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  } else {
    props = {};
    const parts = splitOpts(value);
    parts.forEach((p, i) => {
      const eq = p.indexOf('=');
      if (eq < 0) {
        if (i === 0) first = p;
        else props[p] = 'on';
      } else props[p.slice(0, eq)] = p.slice(eq + 1);
    });
  }
  // A -device's driver is its first word (key=value form): a property named type or backend (ccid-card-emulated's) is not it.
  const driver =
    opt === '-vnc' || opt === '-spice'
      ? opt.slice(1)
      : opt === '-device' && props.driver === undefined && first !== ''
        ? first
        : (props.driver ?? props['qom-type'] ?? props.type ?? props.backend ?? (first || opt.slice(1)));
  return { opt, value, driver, props };
}

/** QEMU's key=value,key=value syntax, where ',,' is a literal comma. */
function splitOpts(value: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === ',' && value[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

/**
 * Reads one of libvirt's *.args files: `VAR=value \` lines, the binary, then
 * one option per line, single-quoted where the shell needs it. Returns the
 * arguments after the binary.
 */
export function readArgsFile(text: string): string[] {
  const words = shellWords(text.replace(/\\\n/g, ' '));
  const bin = words.findIndex((w) => w.includes('qemu-system-'));
  return bin < 0 ? words : words.slice(bin + 1);
}

function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      cur = (cur ?? '') + s.slice(i + 1, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end;
    } else if (c === '\\' && i + 1 < s.length) {
      cur = (cur ?? '') + s[++i];
    } else if (/\s/.test(c)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}
