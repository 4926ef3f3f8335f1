import type { XmlElement } from '../shared/xml.js';
import type { DomainDefinition } from './definition.js';
import { xmlInvalid } from './xml-errors.js';

/**
 * <clock offset=...>: how the guest's RTC starts relative to the host's clock.
 * utc and localtime as QEMU's -rtc base; variable (adjustment seconds from UTC
 * or from the host's local time), absolute (a fixed start, epoch seconds) and
 * timezone (the RTC in a named zone: QEMU's localtime with TZ set) as libvirt
 * computes them when QEMU starts.
 */
export type ClockOffset =
  | { offset: 'utc' | 'localtime' }
  | { offset: 'variable'; adjustment: number; basis: 'utc' | 'localtime' }
  | { offset: 'absolute'; start: number }
  | { offset: 'timezone'; timezone: string };

export const CLOCK_OFFSETS = ['utc', 'localtime', 'variable', 'absolute', 'timezone'] as const;
export const CLOCK_ATTRS = { offset: CLOCK_OFFSETS, adjustment: true, basis: ['utc', 'localtime'], start: true, timezone: true } as const;

export function parseClockOffset(clock: XmlElement): ClockOffset {
  const a = clock.attrs;
  const offset = a.offset ?? 'utc';
  const only = (allowed: string[]): void => {
    for (const k of ['adjustment', 'basis', 'start', 'timezone']) {
      if (a[k] !== undefined && !allowed.includes(k)) throw xmlInvalid('clock', `${k} is not allowed with offset='${offset}'`);
    }
  };
  switch (offset) {
    case 'utc':
    case 'localtime':
      only([]);
      return { offset };
    case 'variable': {
      only(['adjustment', 'basis']);
      const adjustment = Number(a.adjustment ?? '0');
      if (!/^[-+]?\d+$/.test(a.adjustment ?? '0') || Math.abs(adjustment) > 2 ** 53) throw xmlInvalid('clock', `invalid adjustment '${a.adjustment ?? ''}'`);
      const basis = a.basis ?? 'utc';
      if (basis !== 'utc' && basis !== 'localtime') throw xmlInvalid('clock', `invalid basis '${basis}'`);
      return { offset, adjustment, basis };
    }
    case 'absolute': {
      only(['start']);
      if (a.start === undefined || !/^\d+$/.test(a.start))
        throw xmlInvalid('clock', `offset='absolute' needs start= (seconds since the epoch), not '${a.start ?? ''}'`);
      const start = Number(a.start);
      if (start > 253402300799) throw xmlInvalid('clock', `start '${a.start}' is after the year 9999`);
      return { offset, start };
    }
    case 'timezone': {
      only(['timezone']);
      const tz = a.timezone ?? '';
      // libvirt's rule: a zone name of letters, digits and / _ + - (never '..': it becomes TZ of QEMU).
      if (!/^[A-Za-z0-9_+\-/]+$/.test(tz) || tz.split('/').includes('..')) throw xmlInvalid('clock', `invalid timezone name '${tz}'`);
      return { offset, timezone: tz };
    }
    default:
      throw xmlInvalid('clock', `unknown clock offset '${offset}'`);
  }
}

export function clockAttrs(c: ClockOffset): Record<string, string | number | undefined> {
  switch (c.offset) {
    case 'variable':
      return { offset: c.offset, adjustment: c.adjustment, basis: c.basis };
    case 'absolute':
      return { offset: c.offset, start: c.start };
    case 'timezone':
      return { offset: c.offset, timezone: c.timezone };
    default:
      return { offset: c.offset };
  }
}

/** The clock of a definition (absent: utc). */
export function clockOf(def: DomainDefinition): ClockOffset {
  return def.clock ?? { offset: def.clockOffset ?? 'utc' };
}

/** -rtc base= for the clock, at `now`: utc, localtime, or the guest's start time (YYYY-MM-DDTHH:MM:SS) as libvirt computes it. */
export function rtcBase(c: ClockOffset, now: Date): string {
  switch (c.offset) {
    case 'variable': {
      const local = c.basis === 'localtime' ? -now.getTimezoneOffset() * 60 : 0;
      return isoSeconds(Math.floor(now.getTime() / 1000) + c.adjustment + local);
    }
    case 'absolute':
      return isoSeconds(c.start);
    case 'timezone':
      return 'localtime';
    default:
      return c.offset;
  }
}

function isoSeconds(epoch: number): string {
  return new Date(epoch * 1000).toISOString().slice(0, 19);
}

/** The TZ QEMU runs with for offset='timezone'; none otherwise. */
export function clockEnvironment(def: DomainDefinition): Record<string, string> {
  const c = clockOf(def);
  return c.offset === 'timezone' ? { TZ: c.timezone } : {};
}

/** Whether the guest's clock is meant to differ from the host's (ferry then never sets it from the host's). */
export function guestClockIsOwn(def: DomainDefinition): boolean {
  const c = clockOf(def);
  return c.offset === 'variable' || c.offset === 'absolute';
}
