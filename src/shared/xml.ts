import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { type XmlLimits, type XmlRefusal, scanXml, XML_LIMITS } from './xml-scan.js';

/** A plain XML element: what ferry's parsers read and its renderers write. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text content directly inside the element, trimmed. */
  text: string;
}

/** A document that is not well-formed XML: where and why. */
export class XmlSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

/** A document ferry does not read at all: over the size or element limit, or with a DTD (entity declarations). */
export class XmlRefusedError extends Error {
  constructor(readonly refusal: XmlRefusal) {
    super(
      refusal.kind === 'doctype'
        ? `${refusal.declaration} at line ${refusal.line}: ferry reads no DTD and expands no entities`
        : refusal.what === 'levels of nesting'
          ? `the document nests elements more than ${refusal.limit} levels deep, more than ferry reads`
          : `the document has ${refusal.found} ${refusal.what}, more than the ${refusal.limit} ferry reads`,
    );
    this.name = 'XmlRefusedError';
  }
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

/**
 * Parses a document and returns its root element with fast-xml-parser.
 * Throws XmlRefusedError for a document over the limits (bytes, elements,
 * nesting) or with a DTD, all checked first in one cheap pass (scanXml), so
 * the parser never sees entity declarations or a document that could stall
 * ferryd; XmlSyntaxError when it is not well-formed (an undefined entity
 * included: references are decoded here, where only XML's own are known).
 */
export function parseXml(source: string, limits?: XmlLimits): XmlElement {
  const refusal = scanXml(source, limits);
  if (refusal) throw new XmlRefusedError(refusal);
  const valid = XMLValidator.validate(source);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new XmlSyntaxError(`${msg} (line ${line}, column ${col})`, line, col);
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    commentPropName: '#comment',
    cdataPropName: '#cdata',
    // References are decoded below, where an undefined one is an error (the parser would keep it verbatim).
    processEntities: false,
    // scanXml() already refused anything deeper than the limit (the parser's own default is 100).
    maxNestedTags: (limits?.maxDepth ?? XML_LIMITS.maxDepth) + 1,
  });
  const nodes = parser.parse(source) as OrderedNode[];
  // The parser drops text after the root element without a word; XML does not allow it.
  const tail = source.slice(source.lastIndexOf('>') + 1);
  if (tail.trim() !== '' || nodes.some((n) => '#text' in n && String(n['#text']).trim() !== '')) throw new XmlSyntaxError('text outside the root element');
  const roots = nodes.map(toElement).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw new XmlSyntaxError(`expected one root element, found ${roots.length}`);
  return roots[0] as XmlElement;
}

function toElement(node: OrderedNode): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#comment' && k !== '#cdata');
  if (name === undefined) return undefined;
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[name] as OrderedNode[]) ?? []) {
    if ('#text' in child) {
      text += decodeReferences(String(child['#text']));
      continue;
    }
    if ('#cdata' in child) {
      text += ((child['#cdata'] as OrderedNode[]) ?? []).map((t) => String(t['#text'] ?? '')).join('');
      continue;
    }
    const el = toElement(child);
    if (el) children.push(el);
  }
  const attrs: Record<string, string> = {};
  // XML's attribute-value normalisation: each literal tab, newline or carriage return is a space.
  for (const [k, v] of Object.entries(node[':@'] ?? {})) {
    if (String(v).includes('<')) throw new XmlSyntaxError(`'<' in the value of attribute '${k}' of <${name}> (write &lt;)`);
    attrs[k] = decodeReferences(String(v).replace(/[\t\n\r]/g, ' '));
  }
  return { name, attrs, children, text: text.trim() };
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** XML's five predefined entities and character references; any other reference is undefined (no DTD is read). */
function decodeReferences(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new XmlSyntaxError(`'&' must start a reference such as &amp; (found '${whole.slice(0, 20)}')`);
    const named = PREDEFINED[ref];
    if (named !== undefined) return named;
    const code = /^#x[0-9a-fA-F]+$/.test(ref) ? Number.parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? Number.parseInt(ref.slice(1), 10) : undefined;
    if (code === undefined) throw new XmlSyntaxError(`entity '${whole}' is not defined (ferry reads no DTD)`);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new XmlSyntaxError(`'${whole}' is not a valid character`);
    return String.fromCodePoint(code);
  });
}

/** Builds an element; attributes whose value is undefined are left out. */
export function el(name: string, attrs: Record<string, string | number | undefined> = {}, content: Array<XmlElement | undefined> | string = []): XmlElement {
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
