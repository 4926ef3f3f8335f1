import { parseSize } from '../shared/volume.js';
import { CliFailure } from './context.js';

/** What a numeric option or argument accepts. */
export interface NumericSpec {
  /** virsh's name for it in messages: <timeout>. */
  name: string;
  min: number;
  max: number;
  /** A size with an optional unit suffix (10G, 512M, 4096), as vol-create-as takes. */
  size?: boolean;
  /** A size whose plain number counts KiB (virsh setmem), returned in KiB; otherwise sizes are bytes. */
  sizeInKiB?: boolean;
  /** virsh's own message for a well-formed value below `min` (migrate: Invalid timeout); otherwise the range message. */
  belowMin?: string;
}

const SPEC = Symbol('ferry.numeric');

/** A commander argument parser that carries its spec, so a test can find every numeric option. */
export type NumericParser = ((value: string) => number) & { [SPEC]: NumericSpec };

/**
 * A parser for a numeric option or argument, run by commander while it reads
 * the command line, so a bad value stops the command before anything is sent:
 * `error: Numeric value '1m' for <timeout> option is malformed or out of range`,
 * virsh's words. Integers only, in decimal; sizes may carry a unit.
 */
export function numeric(spec: NumericSpec): NumericParser {
  const parse = (value: string): number => {
    const n = spec.size ? sizeValue(value, spec) : /^[+-]?\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
    if (n === undefined || !Number.isSafeInteger(n) || n > spec.max || (n < spec.min && spec.belowMin === undefined)) {
      throw new CliFailure([`Numeric value '${value}' for <${spec.name}> option is malformed or out of range`], hintFor(spec), 'INVALID_ARGUMENT');
    }
    if (n < spec.min) throw new CliFailure([spec.belowMin as string], hintFor(spec), 'INVALID_ARGUMENT');
    return n;
  };
  return Object.assign(parse, { [SPEC]: spec });
}

function sizeValue(value: string, spec: NumericSpec): number | undefined {
  if (!spec.sizeInKiB) return parseSize(value);
  if (/^\s*\d+\s*$/.test(value)) return Number(value.trim());
  const bytes = parseSize(value);
  return bytes === undefined ? undefined : Math.ceil(bytes / 1024);
}

function hintFor(spec: NumericSpec): string {
  if (spec.size && spec.sizeInKiB) return `Give <${spec.name}> as a number of KiB or with a unit, such as 512M or 1G`;
  return spec.size
    ? `Give <${spec.name}> as a number of bytes or with a unit, such as 10G or 512M`
    : `Give <${spec.name}> as a whole number from ${spec.min} to ${spec.max}`;
}

/** The spec of a parser made by numeric(), or undefined for any other parser. */
export function numericSpecOf(parser: unknown): NumericSpec | undefined {
  return typeof parser === 'function' ? (parser as Partial<NumericParser>)[SPEC] : undefined;
}

/** The limits ferry's verbs share. */
export const LIMITS = {
  /** Seconds a timeout may last (its milliseconds fit a 32-bit timer, as virsh's do). */
  seconds: 2_147_483,
  /** MiB/s: QEMU's bandwidth limit is INT64_MAX bytes/s. */
  mibPerSecond: 8_796_093_022_207,
  /** ms: QEMU's downtime-limit is at most 2000 s. */
  downtimeMs: 2_000_000,
} as const;
