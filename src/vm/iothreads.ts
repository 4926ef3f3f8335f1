import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import type { DomainDefinition } from './definition.js';
import { canonicalCpuset } from './cpuset.js';
import { positiveInt } from './xml-values.js';
import { xmlInvalid } from './xml-errors.js';

/** <iothreadids>: the ids of the domain's iothreads (QEMU objects iothread<ID>), in libvirt's order. */
export const IOTHREADIDS_RULE = { children: { iothread: { attrs: { id: true } } } } as const;

/** <cputune><iothreadpin iothread= cpuset=>. */
export const IOTHREADPIN_RULE = { attrs: { iothread: true, cpuset: true } } as const;

/**
 * Reads <iothreads> and <iothreadids>. As libvirt: more ids than <iothreads>
 * raise the count; fewer are completed with the lowest unused ids.
 */
export function parseIothreads(root: XmlElement): Pick<DomainDefinition, 'iothreads' | 'iothreadIds'> {
  const countEl = child(root, 'iothreads');
  let count = countEl ? positiveInt(countEl.text, 'iothreads') : undefined;
  const idsEl = child(root, 'iothreadids');
  if (!idsEl) return count === undefined ? {} : { iothreads: count };
  const ids: number[] = [];
  for (const t of childrenNamed(idsEl, 'iothread')) {
    const id = positiveInt(t.attrs.id ?? '', 'iothread');
    if (ids.includes(id)) throw xmlInvalid('iothreadids', `duplicate iothread id '${id}'`);
    ids.push(id);
  }
  count = Math.max(count ?? 0, ids.length);
  for (let next = 1; ids.length < count; next++) if (!ids.includes(next)) ids.push(next);
  return count === 0 ? {} : { iothreads: count, iothreadIds: ids };
}

export function renderIothreads(def: DomainDefinition): XmlElement[] {
  if (def.iothreads === undefined) return [];
  return [
    el('iothreads', {}, String(def.iothreads)),
    def.iothreadIds ? el('iothreadids', {}, def.iothreadIds.map((id) => el('iothread', { id: String(id) }))) : undefined,
  ].filter((e): e is XmlElement => e !== undefined);
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
