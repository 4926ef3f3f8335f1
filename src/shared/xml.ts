import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A plain XML element: what ferry's parsers read and its renderers write. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text content directly inside the element, trimmed. */
  text: string;
}

export class XmlSyntaxError extends SyntaxError {
  constructor(message: string, readonly line?: number, readonly column?: number) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

/** Parses a document and returns its root element. Throws XmlSyntaxError when it is not well-formed. */
export function parseXml(source: string): XmlElement {
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
    processEntities: true,
  });
  const nodes = parser.parse(source) as OrderedNode[];
  const roots = nodes.map(toElement).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw new XmlSyntaxError(`expected one root element, found ${roots.length}`);
  return roots[0] as XmlElement;
}

function toElement(node: OrderedNode): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#comment');
  if (name === undefined) return undefined;
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[name] as OrderedNode[]) ?? []) {
    if ('#text' in child) {
      text += String(child['#text']);
      continue;
    }
    const el = toElement(child);
    if (el) children.push(el);
  }
  return { name, attrs: { ...(node[':@'] ?? {}) }, children, text: text.trim() };
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
  const attrs = Object.entries(root.attrs)
    .map(([k, v]) => ` ${k}='${escapeAttr(v)}'`)
    .join('');
  if (root.children.length === 0 && root.text === '') return `${indent}<${root.name}${attrs}/>\n`;
  if (root.children.length === 0) return `${indent}<${root.name}${attrs}>${escapeText(root.text)}</${root.name}>\n`;
  const inner = root.children.map((c) => renderXml(c, `${indent}  `)).join('');
  return `${indent}<${root.name}${attrs}>\n${inner}${indent}</${root.name}>\n`;
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/'/g, '&apos;');
}

export function child(parent: XmlElement, name: string): XmlElement | undefined {
  return parent.children.find((c) => c.name === name);
}

export function childrenNamed(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((c) => c.name === name);
}
