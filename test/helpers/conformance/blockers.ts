import { parseXml, renderXml, type XmlElement } from '../../../src/shared/xml.js';
import { labelledDevices } from './device-label.js';
import { type FerryOutcome, type Refusal, runFerry } from './ferry-adapter.js';
import { messageAttrs, namedElements, parseSpec, reasonKey, specTag } from './refusal-reason.js';

/** One thing that keeps ferry from accepting a domain. */
export interface Blocker {
  /** The reason, with where it sits: `devices/disk/target bus='ide'`. */
  key: string;
  refusal: Refusal;
  /** The device (or top-level element) it was found in, as it reads in the XML. */
  example?: XmlElement;
  /** The device's label in the original domain (device-label.ts), when the example is a device. */
  label?: string;
}

export interface Blockers {
  blockers: Blocker[];
  /** true when, with all of them taken out, ferry accepted the rest: fixing exactly these accepts the domain. */
  complete: boolean;
  /** The XML ferry accepted in the end, all of them taken out (when complete). */
  remainder?: string;
}

/**
 * Every reason ferry refuses a domain for, not just the first: takes the
 * element each refusal names out of the document (the whole device, for
 * something inside <devices>) and asks again, until ferry accepts what is
 * left or a refusal cannot be placed. What sits inside a device taken out is
 * not looked at, so a domain can have more blockers than this finds.
 */
export function findBlockers(xml: string, define: (xml: string) => FerryOutcome = runFerry, maxRounds = 60): Blockers {
  const root = parseXml(xml);
  const labels = new Map(labelledDevices(root).map((d) => [d.device, d.label]));
  const blockers: Blocker[] = [];
  const removed = new Set<string>();
  let outcome = define(xml);
  for (let round = 0; round < maxRounds && !outcome.accepted; round++) {
    let placed = false;
    for (const r of outcome.refusals) {
      // A refusal about something the harness itself took out is not the domain's.
      if ([...removed].some((name) => namedElements(r).some((s) => specTag(s) === name) && /missing|needs/.test(r.message))) continue;
      const hit = locate(root, r);
      if (!hit) {
        blockers.push({ key: reasonKey(r), refusal: r });
        continue;
      }
      const { path, unit, parent, attrs } = hit;
      const label = labels.get(unit);
      blockers.push({ key: reasonKey(r, path), refusal: r, example: copy(unit), ...(label === undefined ? {} : { label }) });
      if (attrs.length > 0) {
        // An attribute of an element outside <devices> (os firmware='efi', type arch='i686'): only the attribute goes.
        const { [attrs[0] as string]: _gone, ...rest } = unit.attrs;
        unit.attrs = rest;
      } else {
        parent.children = parent.children.filter((c) => c !== unit);
        removed.add(unit.name);
      }
      placed = true;
    }
    if (!placed) return { blockers, complete: false };
    outcome = define(renderXml(root));
  }
  return outcome.accepted ? { blockers, complete: true, remainder: renderXml(root) } : { blockers, complete: false };
}

interface Hit {
  /** The path to the element the refusal names, below <domain>: devices/disk/target, os/loader. */
  path: string;
  /** What the harness takes out: the device, or the element itself outside <devices>. */
  unit: XmlElement;
  parent: XmlElement;
  /** Outside <devices>, the attributes the refusal is about: those go instead of the element. */
  attrs: string[];
}

/** The element of the document a refusal is about: its tag, parent and attributes as the refusal names them, best matched by the values it quotes. */
function locate(root: XmlElement, r: Refusal): Hit | undefined {
  const spec = r.element ?? namedElements(r)[0];
  if (spec === undefined) return undefined;
  const { segments, attrs: specAttrs } = parseSpec(spec);
  const tag = segments[segments.length - 1];
  if (tag === undefined) return undefined;
  const parentTag = segments.length > 1 ? segments[segments.length - 2] : undefined;
  const filters = [...specAttrs, ...messageAttrs(r.message)];
  const quoted = [...r.message.matchAll(/'([^']+)'/g)].map((m) => m[1] as string);

  const found: Array<{ chain: XmlElement[]; score: number }> = [];
  const walk = (e: XmlElement, chain: XmlElement[]): void => {
    const here = [...chain, e];
    const parent = chain[chain.length - 1];
    if (
      e.name === tag &&
      chain.length > 0 &&
      (parentTag === undefined || parent?.name === parentTag) &&
      filters.every(([k, v]) => (v === undefined ? e.attrs[k] !== undefined : (e.attrs[k] ?? '') === v))
    ) {
      found.push({ chain: here, score: quoted.filter((q) => mentions(e, q)).length });
    }
    e.children.forEach((c) => walk(c, here));
  };
  walk(root, []);
  if (found.length === 0) return undefined;
  const best = found.reduce((a, b) => (b.score > a.score ? b : a));
  const chain = best.chain;
  const path = chain
    .slice(1)
    .map((e) => e.name)
    .join('/');
  // Inside <devices>, the whole device goes; elsewhere the element itself.
  const inDevices = chain[1]?.name === 'devices' && chain.length > 2;
  const depth = inDevices ? 2 : chain.length - 1;
  const attrs = inDevices ? [] : filters.map(([k]) => k);
  return { path, unit: chain[depth] as XmlElement, parent: chain[depth - 1] as XmlElement, attrs };
}

function copy(e: XmlElement): XmlElement {
  return { ...e, attrs: { ...e.attrs }, children: e.children.map(copy) };
}

function mentions(e: XmlElement, value: string): boolean {
  return Object.values(e.attrs).includes(value) || e.text === value || e.children.some((c) => mentions(c, value));
}
