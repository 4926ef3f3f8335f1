import { FerryError } from '../errors/ferry-error.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * A point in time on the command line (ferry audit --since/--until):
 * an ISO 8601 date or date-time (2026-11-30, 2026-11-30T18:00, 2026-11-30T18:00:00Z;
 * without a zone it is local time, as `date` prints it), or how long ago:
 * a number and a unit, 30s, 15m, 1h, 2d, 1w. Returns ms since the epoch.
 */
export function parseTimeSpec(text: string, option: string, now: number = Date.now()): number {
  const rel = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const iso = text.trim().replace(' ', 'T');
    // A date alone is midnight local time (Date.parse would take it as UTC).
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso}T00:00` : iso);
    if (!Number.isNaN(t)) return t;
  }
  throw new FerryError('INVALID_ARGUMENT', `invalid value for ${option}: '${text}' is not a time`, {
    hint: 'Give an ISO 8601 date or time (2026-11-30, 2026-11-30T18:00, 2026-11-30T18:00:00Z) or how long ago (30s, 15m, 1h, 2d, 1w)',
  });
}
