import type { XmlElement } from '../../../src/shared/xml.js';
import type { Refusal } from './ferry-adapter.js';

/** The element specs a refusal names: its details.element and every <...> of its message (`disk type='dir'`, `devices/sound`, `target`). */
export function namedElements(r: Refusal): string[] {
  const inMessage = [...r.message.matchAll(/<([A-Za-z_][^<>]*?)\/?>/g)].map((m) => (m[1] as string).trim());
  return [...new Set([...(r.element !== undefined ? [r.element] : []), ...inMessage])];
}

/** An element spec taken apart: `console target type='virtio'` → path [console, target], attrs [[type, virtio]]. */
export interface ElementSpec {
  segments: string[];
  /** Attributes the spec names, with the value it quotes ('' when it names only the attribute: `target/@bus`). */
  attrs: Array<readonly [string, string | undefined]>;
}

/**
 * Takes an element spec apart: `console target type='virtio'` → path [console, target], attrs [[type, virtio]];
 * a path with an attribute step, `devices/disk[hda]/target/@bus`, → path [devices, disk, target], attrs [[bus]].
 */
export function parseSpec(spec: string): ElementSpec {
  const attrs: Array<readonly [string, string | undefined]> = [...spec.matchAll(/(\S+)='([^']*)'/g)].map((m) => [m[1] as string, m[2] as string] as const);
  const path = spec.replace(/(\S+)='([^']*)'/g, ' ').trim();
  const segments: string[] = [];
  for (const part of path.split(/[\s/]+/).filter((x) => x !== '')) {
    if (part.startsWith('@')) attrs.push([part.slice(1), undefined]);
    else segments.push(part.replace(/\[.*$/, ''));
  }
  return { segments, attrs };
}

/** Attribute values a refusal's message is about: `unknown bus 'ide'`, `bus 'ide' is not supported`. */
export function messageAttrs(message: string): Array<readonly [string, string]> {
  return [...message.matchAll(/unknown (\S+) '([^']*)'|(\w+) '([^']*)' is not supported/g)].map(
    (m) => [(m[1] ?? m[3]) as string, (m[2] ?? m[4]) as string] as const,
  );
}

/** The tag a spec names: the last path segment, before any attribute (`devices/disk type='dir'` → disk). */
export function specTag(spec: string): string {
  const { segments } = parseSpec(spec);
  return segments[segments.length - 1] ?? '';
}

/** Whether the refusal names an element that is in the refused document (the refusal says where the problem is). */
export function namesAnElementOf(r: Refusal, domain: XmlElement): boolean {
  const tags = new Set<string>();
  const walk = (e: XmlElement): void => {
    tags.add(e.name);
    tags.add(e.name.replace(/^.*:/, ''));
    e.children.forEach(walk);
  };
  walk(domain);
  return namedElements(r).some((s) => tags.has(specTag(s)) || tags.has(specTag(s).replace(/^.*:/, '')));
}

/**
 * A refusal as a reason to group by, the same for every domain it blocks:
 * `target bus='ide'`, `devices/filesystem`, `os/loader`. Quoted values that
 * belong to one domain (its disk names, paths) are elided unless they are the
 * value the refusal is about.
 */
export function reasonKey(r: Refusal, located?: string): string {
  const spec = r.element ?? namedElements(r)[0] ?? '';
  const parsed = parseSpec(spec);
  const where = located ?? parsed.segments.join('/');
  const named = parsed.attrs.filter(([, v]) => v !== undefined);
  const base = [where, ...named.map(([k, v]) => `${k}='${v}'`)].join(' ').trim();
  const about = messageAttrs(r.message).filter(([k]) => !named.some(([n]) => n === k));
  if (about.length > 0) return `${base} ${about.map(([k, v]) => `${k}='${v}'`).join(' ')}`;
  if (/is not supported/.test(r.message) && /='/.test(spec)) return base;
  if (/^unsupported configuration: <[^>]*> is not supported by ferry$/.test(r.message)) return base;
  const problem = r.message
    .replace(/^(XML error|unsupported configuration|internal error): /, '')
    .replace(new RegExp(` in <${escapeRe(spec)}>$`), '')
    .replace(/'[^']*'/g, "'…'");
  return `${base}: ${problem}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
