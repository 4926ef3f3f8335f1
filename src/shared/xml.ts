import { readXml, XmlTooDeepError } from './xml-parser.js';
import { type XmlLimits, type XmlRefusal, scanXml, XML_LIMITS } from './xml-scan.js';

export { XmlSyntaxError } from './xml-parser.js';

/** A plain XML element: what ferry's parsers read and its renderers write. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text content directly inside the element, trimmed. */
  text: string;
}

/** A document ferry does not read at all: over the size or element limit, or with a DTD (entity declarations). */
export class XmlRefusedError extends Error {
  constructor(readonly refusal: XmlRefusal) {
    super(refusal.kind === 'doctype'
      ? `${refusal.declaration} at line ${refusal.line}: ferry reads no DTD and expands no entities`
      : refusal.what === 'levels of nesting'
        ? `the document nests elements more than ${refusal.limit} levels deep, more than ferry reads`
        : `the document has ${refusal.found} ${refusal.what}, more than the ${refusal.limit} ferry reads`);
    this.name = 'XmlRefusedError';
  }
}

/**
 * Parses a document and returns its root element. Throws XmlRefusedError for
 * a document over the limits or with a DTD (checked first, in one cheap pass),
 * XmlSyntaxError when it is not well-formed (an undefined entity included).
 */
export function parseXml(source: string, limits?: XmlLimits): XmlElement {
  const refusal = scanXml(source, limits);
  if (refusal) throw new XmlRefusedError(refusal);
  const maxDepth = limits?.maxDepth ?? XML_LIMITS.maxDepth;
  try {
    return readXml(source, maxDepth);
  } catch (err) {
    if (err instanceof XmlTooDeepError) throw new XmlRefusedError({ kind: 'too-large', what: 'levels of nesting', limit: maxDepth, found: maxDepth + 1 });
    throw err;
  }
}

/** Builds an element; attributes whose value is undefined are left out. */
export function el(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  content: Array<XmlElement | undefined> | string = [],
): XmlElement {
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a[k] = String(v);
  if (typeof content === 'string') return { name, attrs: a, children: [], text: content };
  return { name, attrs: a, children: content.filter((c): c is XmlElement => c !== undefined), text: '' };
}

/** Renders an element the way libvirt does: two-space indent, single-quoted attributes. */
export function renderXml(root: XmlElement, indent = ''): string {
  const parts: string[] = [];
  renderInto(root, indent, parts);
  return parts.join('');
}

function renderInto(e: XmlElement, indent: string, out: string[]): void {
  let attrs = '';
  for (const k in e.attrs) attrs += ` ${k}='${escapeAttr(e.attrs[k] as string)}'`;
  if (e.children.length === 0) {
    out.push(e.text === '' ? `${indent}<${e.name}${attrs}/>\n` : `${indent}<${e.name}${attrs}>${escapeText(e.text)}</${e.name}>\n`);
    return;
  }
  out.push(`${indent}<${e.name}${attrs}>\n`);
  const inner = `${indent}  `;
  for (const c of e.children) renderInto(c, inner, out);
  out.push(`${indent}</${e.name}>\n`);
}

const TEXT_SPECIAL = /[&<>]/;
const ATTR_SPECIAL = /[&<>']/;

function escapeText(s: string): string {
  return TEXT_SPECIAL.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : s;
}

function escapeAttr(s: string): string {
  return ATTR_SPECIAL.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;') : s;
}

export function child(parent: XmlElement, name: string): XmlElement | undefined {
  return parent.children.find((c) => c.name === name);
}

export function childrenNamed(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((c) => c.name === name);
}
