import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import type { DomainDefinition } from './definition.js';
import { canonicalCpuset } from './cpuset.js';
import { nonNegativeInt, positiveInt } from './xml-values.js';
import { xmlInvalid } from './xml-errors.js';

/** <iothreadids>: the ids of the domain's iothreads (QEMU objects iothread<ID>), in libvirt's order, with their pool sizes and polling. */
export const IOTHREADIDS_RULE = {
  children: {
    iothread: { attrs: { id: true, thread_pool_min: true, thread_pool_max: true }, children: { poll: { attrs: { max: true, grow: true, shrink: true } } } },
  },
} as const;

/** <defaultiothread>: the pool sizes of QEMU's main loop (its main-loop object). */
export const DEFAULTIOTHREAD_RULE = { attrs: { thread_pool_min: true, thread_pool_max: true } } as const;

/** An iothread's (or the main loop's) worker pool bounds and adaptive polling, as QEMU's iothread/main-loop properties take them. */
export interface IothreadSettings {
  /** thread_pool_min/max: QEMU's thread-pool-min/-max (worker threads for blocking I/O). */
  poolMin?: number;
  poolMax?: number;
  /** <poll max grow shrink>: QEMU's poll-max-ns, poll-grow, poll-shrink. */
  pollMax?: number;
  pollGrow?: number;
  pollShrink?: number;
}

function poolSizes(e: XmlElement, element: string): IothreadSettings {
  const s: IothreadSettings = {};
  if (e.attrs.thread_pool_min !== undefined) s.poolMin = nonNegativeInt(e.attrs.thread_pool_min, element);
  if (e.attrs.thread_pool_max !== undefined) s.poolMax = nonNegativeInt(e.attrs.thread_pool_max, element);
  if (s.poolMax === 0) throw xmlInvalid(element, 'thread_pool_max must be a value greater than zero');
  if (s.poolMin !== undefined && s.poolMax !== undefined && s.poolMin > s.poolMax) {
    throw xmlInvalid(element, `thread_pool_min (${s.poolMin}) must be less than or equal to thread_pool_max (${s.poolMax})`);
  }
  return s;
}

function iothreadSettings(t: XmlElement): IothreadSettings {
  const s = poolSizes(t, 'iothread');
  const poll = child(t, 'poll');
  if (poll?.attrs.max !== undefined) s.pollMax = nonNegativeInt(poll.attrs.max, 'poll');
  if (poll?.attrs.grow !== undefined) s.pollGrow = nonNegativeInt(poll.attrs.grow, 'poll');
  if (poll?.attrs.shrink !== undefined) s.pollShrink = nonNegativeInt(poll.attrs.shrink, 'poll');
  return s;
}

/** <cputune><iothreadpin iothread= cpuset=>. */
export const IOTHREADPIN_RULE = { attrs: { iothread: true, cpuset: true } } as const;

/**
 * Reads <iothreads> and <iothreadids>. As libvirt: more ids than <iothreads>
 * raise the count; fewer are completed with the lowest unused ids.
 */
export function parseIothreads(root: XmlElement): Pick<DomainDefinition, 'iothreads' | 'iothreadIds' | 'iothreadSettings' | 'defaultIothread'> {
  const countEl = child(root, 'iothreads');
  let count = countEl ? positiveInt(countEl.text, 'iothreads') : undefined;
  const defaultEl = child(root, 'defaultiothread');
  const main = defaultEl ? poolSizes(defaultEl, 'defaultiothread') : undefined;
  const withMain = main && Object.keys(main).length > 0 ? { defaultIothread: main } : {};
  const idsEl = child(root, 'iothreadids');
  if (!idsEl) return count === undefined ? withMain : { iothreads: count, ...withMain };
  const ids: number[] = [];
  const settings: Record<number, IothreadSettings> = {};
  for (const t of childrenNamed(idsEl, 'iothread')) {
    const id = positiveInt(t.attrs.id ?? '', 'iothread');
    if (ids.includes(id)) throw xmlInvalid('iothreadids', `duplicate iothread id '${id}'`);
    ids.push(id);
    const s = iothreadSettings(t);
    if (Object.keys(s).length > 0) settings[id] = s;
  }
  count = Math.max(count ?? 0, ids.length);
  for (let next = 1; ids.length < count; next++) if (!ids.includes(next)) ids.push(next);
  if (count === 0) return withMain;
  return { iothreads: count, iothreadIds: ids, ...(Object.keys(settings).length > 0 ? { iothreadSettings: settings } : {}), ...withMain };
}

const poolAttrs = (s: IothreadSettings | undefined): Record<string, string | undefined> => ({
  thread_pool_min: s?.poolMin?.toString(),
  thread_pool_max: s?.poolMax?.toString(),
});

export function renderIothreads(def: DomainDefinition): XmlElement[] {
  const main = def.defaultIothread ? el('defaultiothread', poolAttrs(def.defaultIothread)) : undefined;
  if (def.iothreads === undefined) return main ? [main] : [];
  const iothread = (id: number): XmlElement => {
    const s = def.iothreadSettings?.[id];
    const poll =
      s && (s.pollMax ?? s.pollGrow ?? s.pollShrink) !== undefined
        ? el('poll', { max: s.pollMax?.toString(), grow: s.pollGrow?.toString(), shrink: s.pollShrink?.toString() })
        : undefined;
    return el('iothread', { id: String(id), ...poolAttrs(s) }, poll ? [poll] : []);
  };
  return [el('iothreads', {}, String(def.iothreads)), def.iothreadIds ? el('iothreadids', {}, def.iothreadIds.map(iothread)) : undefined, main].filter(
    (e): e is XmlElement => e !== undefined,
  );
}

/** QEMU's -object for iothread `id` (with its pool and polling settings) and, with <defaultiothread>, the main loop's. */
export function iothreadObjects(def: DomainDefinition): string[] {
  const props = (s: IothreadSettings | undefined): string =>
    [
      s?.poolMin === undefined ? '' : `,thread-pool-min=${s.poolMin}`,
      s?.poolMax === undefined ? '' : `,thread-pool-max=${s.poolMax}`,
      s?.pollMax === undefined ? '' : `,poll-max-ns=${s.pollMax}`,
      s?.pollGrow === undefined ? '' : `,poll-grow=${s.pollGrow}`,
      s?.pollShrink === undefined ? '' : `,poll-shrink=${s.pollShrink}`,
    ].join('');
  const out = iothreadIdsOf(def).flatMap((id) => ['-object', `iothread,id=iothread${id}${props(def.iothreadSettings?.[id])}`]);
  if (def.defaultIothread) out.push('-object', `main-loop,id=main-loop${props(def.defaultIothread)}`);
  return out;
}

/** The ids of the domain's iothreads: <iothreadids>, else 1..<iothreads>. */
export function iothreadIdsOf(def: DomainDefinition): number[] {
  return def.iothreadIds ?? Array.from({ length: def.iothreads ?? 0 }, (_, i) => i + 1);
}

/** <iothreadpin>s of a <cputune>: canonical cpusets by iothread id. */
export function parseIothreadPins(tune: XmlElement): Array<{ iothread: number; cpuset: string }> {
  const pins: Array<{ iothread: number; cpuset: string }> = [];
  for (const pin of childrenNamed(tune, 'iothreadpin')) {
    const iothread = positiveInt(pin.attrs.iothread ?? '', 'iothreadpin');
    if (pins.some((p) => p.iothread === iothread)) throw xmlInvalid('iothreadpin', `duplicate iothreadpin for iothread '${iothread}'`);
    pins.push({ iothread, cpuset: canonicalCpuset(pin.attrs.cpuset ?? '', 'iothreadpin') });
  }
  return pins.sort((a, b) => a.iothread - b.iothread);
}

/** An <iothreadpin> naming an iothread the domain does not have is invalid, as in libvirt. */
export function checkIothreadPins(def: DomainDefinition): void {
  const ids = iothreadIdsOf(def);
  for (const p of def.cputune?.iothreadpins ?? []) {
    if (!ids.includes(p.iothread)) throw xmlInvalid('iothreadpin', `Cannot find 'iothread' : ${p.iothread}`);
  }
}

/** The host CPUs iothread `id` may run on: its <iothreadpin>, else those of QEMU's other threads (undefined: any). */
export function iothreadAffinity(def: DomainDefinition, id: number, emulator: string | undefined): string | undefined {
  return def.cputune?.iothreadpins?.find((p) => p.iothread === id)?.cpuset ?? emulator;
}
