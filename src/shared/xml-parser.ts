import type { XmlElement } from './xml.js';

/** A document that is not well-formed XML: where and why. */
export class XmlSyntaxError extends SyntaxError {
  constructor(message: string, readonly line?: number, readonly column?: number) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

/** The document nests elements deeper than the reader goes. */
export class XmlTooDeepError extends Error {
  constructor(readonly limit: number) {
    super(`elements nested more than ${limit} levels deep`);
    this.name = 'XmlTooDeepError';
  }
}

const NAME = /[A-Za-z_:\u00c0-\uffff][\w.:\u00b7\u00c0-\uffff-]*/y;
const SPACE = /[ \t\r\n]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/**
 * A strict, linear XML 1.0 reader for what ferry reads (domain, network and
 * pool XML): elements, attributes, text, comments, CDATA and processing
 * instructions, in one pass. No DTD is read (the caller refuses one before
 * this runs), so the only references are the five predefined entities and
 * character references; any other is an error. Text directly inside an
 * element is trimmed piece by piece and joined; CDATA is kept as written.
 * Errors carry the line and column.
 */
export function readXml(source: string, maxDepth = 256): XmlElement {
  return new Reader(source, maxDepth).document();
}

class Reader {
  private pos = 0;
  private depth = 0;

  constructor(private readonly s: string, private readonly maxDepth: number) {
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  document(): XmlElement {
    this.misc();
    if (!this.s.startsWith('<', this.pos) || this.pos >= this.s.length) throw this.error('the document has no root element');
    const root = this.element();
    this.misc();
    if (this.pos < this.s.length) throw this.error(this.s[this.pos] === '<' ? 'only one root element is allowed' : 'text after the root element');
    return root;
  }

  /** Whitespace, comments and processing instructions (the XML declaration among them) around the root. */
  private misc(): void {
    for (;;) {
      this.space();
      if (this.s.startsWith('<!--', this.pos)) this.comment();
      else if (this.s.startsWith('<?', this.pos)) this.pi();
      else return;
    }
  }

  private element(): XmlElement {
    const start = this.pos;
    if (++this.depth > this.maxDepth) throw new XmlTooDeepError(this.maxDepth);
    this.pos++; // <
    const name = this.name('an element name');
    const attrs: Record<string, string> = {};
    for (;;) {
      const before = this.pos;
      this.space();
      const c = this.s[this.pos];
      if (c === '/' || c === '>') break;
      if (this.pos === before) throw this.error(c === undefined ? `<${name}> is not closed` : `unexpected '${c}' in <${name}>`);
      const attr = this.name(`an attribute name in <${name}>`);
      if (Object.hasOwn(attrs, attr)) throw this.error(`attribute '${attr}' is repeated in <${name}>`);
      this.space();
      if (this.s[this.pos] !== '=') throw this.error(`attribute '${attr}' of <${name}> has no value`);
      this.pos++;
      this.space();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") throw this.error(`the value of attribute '${attr}' must be quoted`);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) throw this.error(`the value of attribute '${attr}' is not closed`);
      const raw = this.s.slice(this.pos + 1, end);
      const lt = raw.indexOf('<');
      if (lt >= 0) throw this.error(`'<' in the value of attribute '${attr}'`, this.pos + 1 + lt);
      attrs[attr] = this.decode(raw.replace(/[\t\n\r]/g, ' '), this.pos + 1);
      this.pos = end + 1;
    }
    const el: XmlElement = { name, attrs, children: [], text: '' };
    if (this.s.startsWith('/>', this.pos)) {
      this.pos += 2;
      this.depth--;
      return el;
    }
    if (this.s[this.pos] !== '>') throw this.error(`<${name}> is not closed`);
    this.pos++;
    this.content(el, start);
    this.depth--;
    return el;
  }

  private content(el: XmlElement, start: number): void {
    let text = '';
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) throw this.error(`<${el.name}> opened here is never closed`, start);
      if (lt > this.pos) {
        const raw = this.s.slice(this.pos, lt);
        const piece = raw.trim();
        if (piece !== '') text += this.decode(piece, this.pos + raw.length - raw.trimStart().length);
        this.pos = lt;
      }
      if (this.s.startsWith('</', lt)) {
        this.pos = lt + 2;
        const end = this.name('a closing tag name');
        if (end !== el.name) throw this.error(`closing tag </${end}> does not match <${el.name}>`, lt);
        this.space();
        if (this.s[this.pos] !== '>') throw this.error(`closing tag </${end}> is not closed`);
        this.pos++;
        el.text = text.trim();
        return;
      }
      if (this.s.startsWith('<!--', lt)) this.comment();
      else if (this.s.startsWith('<![CDATA[', lt)) {
        const end = this.s.indexOf(']]>', lt + 9);
        if (end < 0) throw this.error('CDATA section is not closed', lt);
        text += this.s.slice(lt + 9, end);
        this.pos = end + 3;
      } else if (this.s.startsWith('<?', lt)) this.pi();
      else if (this.s.startsWith('<!', lt)) throw this.error('a declaration (<!...) inside an element', lt);
      else el.children.push(this.element());
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) throw this.error('comment is not closed');
    this.pos = end + 3;
  }

  private pi(): void {
    const end = this.s.indexOf('?>', this.pos + 2);
    if (end < 0) throw this.error('processing instruction is not closed');
    this.pos = end + 2;
  }

  private name(what: string): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.s);
    if (!m) throw this.error(`expected ${what}`);
    this.pos += m[0].length;
    return m[0];
  }

  private space(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.s);
    this.pos = SPACE.lastIndex;
  }

  /** References: the five predefined entities and character references; `at` places errors. */
  private decode(s: string, at: number): string {
    const amp = s.indexOf('&');
    if (amp < 0) return s;
    let out = s.slice(0, amp);
    let i = amp;
    while (i < s.length) {
      const c = s[i];
      if (c !== '&') {
        const next = s.indexOf('&', i);
        out += s.slice(i, next < 0 ? s.length : next);
        i = next < 0 ? s.length : next;
        continue;
      }
      const semi = s.indexOf(';', i);
      const ref = semi < 0 ? '' : s.slice(i + 1, semi);
      if (semi < 0 || !/^(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*)$/.test(ref)) {
        throw this.error(`'&' must start a reference such as &amp; (found '${s.slice(i, i + 12)}')`, at + i);
      }
      const named = PREDEFINED[ref];
      if (named !== undefined) out += named;
      else if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw this.error(`'&${ref};' is not a valid character`, at + i);
        out += String.fromCodePoint(code);
      } else {
        throw this.error(`entity '&${ref};' is not defined (ferry reads no DTD)`, at + i);
      }
      i = semi + 1;
    }
    return out;
  }

  private error(message: string, at = this.pos): XmlSyntaxError {
    const before = this.s.slice(0, Math.min(at, this.s.length));
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    return new XmlSyntaxError(`${message} (line ${line}, column ${column})`, line, column);
  }
}
