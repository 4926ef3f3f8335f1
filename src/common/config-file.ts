import { FerryError } from '../errors/ferry-error.js';

export type ConfValue = string | number | boolean | string[];

/**
 * Parses libvirt's configuration syntax (virconf: qemu.conf, libvirtd.conf,
 * qemu-lockd.conf), read character by character as libvirt's own parser does:
 *
 *   key = "string" | 'string' | """a string
 *         over lines""" | 123 | -4 | [ "a", 'b',
 *                                      "c",   # a comment
 *                                    ]
 *
 * Statements end at a newline or ';'; `#` starts a comment anywhere outside
 * a string. Strings have no escapes (a backslash is itself, as in libvirt):
 * a string holding `"` is written in single quotes, one holding both in
 * triple quotes. Lists span lines and may end with a comma. Beyond libvirt:
 * comments inside a list, and decimals (memory_overcommit = 1.5). A key set
 * twice keeps the last value. Values are checked against the allowed keys by
 * the caller.
 */
export function parseConfFile(text: string, source = 'ferryd.conf'): Map<string, { value: ConfValue; line: number }> {
  return new ConfParser(text, source).parse();
}

class ConfParser {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  parse(): Map<string, { value: ConfValue; line: number }> {
    const out = new Map<string, { value: ConfValue; line: number }>();
    for (;;) {
      this.skip({ eol: true, comments: true });
      if (this.pos >= this.text.length) return out;
      const line = this.line;
      const name = this.name();
      this.skip({});
      if (this.peek() !== '=') throw this.error(`expecting an assignment after '${name}'`);
      this.pos++;
      this.skip({});
      out.set(name, { value: this.value(), line });
      this.separator();
    }
  }

  private name(): string {
    const m = /^[A-Za-z][A-Za-z0-9_]*/.exec(this.text.slice(this.pos, this.pos + 200));
    if (!m) throw this.error(`expecting a name, found '${this.rest()}'`);
    this.pos += m[0].length;
    return m[0];
  }

  private value(): ConfValue {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    if (c === '[') return this.list();
    const m = /^[+-]?\d+(\.\d+)?/.exec(this.text.slice(this.pos, this.pos + 64));
    if (m) {
      this.pos += m[0].length;
      return Number(m[0]);
    }
    if (c === undefined || c === '\n' || c === '#') throw this.error('expecting a value');
    throw this.error(`expecting a value, found '${this.rest()}' (strings need quotes)`);
  }

  private string(): string {
    if (this.text.startsWith('"""', this.pos)) {
      const end = this.text.indexOf('"""', this.pos + 3);
      if (end < 0) throw this.error('unterminated string');
      const s = this.text.slice(this.pos + 3, end);
      this.line += s.split('\n').length - 1;
      this.pos = end + 3;
      return s;
    }
    const quote = this.peek() as string;
    let end = this.pos + 1;
    while (end < this.text.length && this.text[end] !== quote && this.text[end] !== '\n' && this.text[end] !== '\r') end++;
    if (this.text[end] !== quote) throw this.error('unterminated string');
    const s = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return s;
  }

  private list(): string[] {
    const items: string[] = [];
    this.pos++;
    this.skip({ eol: true, comments: true });
    while (this.peek() !== ']') {
      if (this.pos >= this.text.length) throw this.error('list is not closed with ]');
      const v = this.value();
      if (typeof v !== 'string') throw this.error('list items must be strings');
      items.push(v);
      this.skip({ eol: true, comments: true });
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        this.skip({ eol: true, comments: true });
      } else if (c !== ']') {
        throw this.error(this.pos >= this.text.length ? 'list is not closed with ]' : `expecting a separator in list, found '${this.rest()}'`);
      }
    }
    this.pos++;
    return items;
  }

  /** After a value: blanks, an optional comment, then a newline, ';' or the end. */
  private separator(): void {
    this.skip({ comments: true });
    const c = this.peek();
    if (c === undefined || c === '\n' || c === '\r') return;
    if (c === ';') {
      this.pos++;
      return;
    }
    throw this.error(`expecting a separator (a new line or ';'), found '${this.rest()}'`);
  }

  private skip(o: { eol?: boolean; comments?: boolean }): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t') this.pos++;
      else if (o.eol && (c === '\n' || c === '\r')) {
        if (c === '\n') this.line++;
        this.pos++;
      } else if (o.comments && c === '#') {
        while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private rest(): string {
    return (this.text.slice(this.pos).split('\n')[0] ?? '').slice(0, 40);
  }

  private error(message: string): FerryError {
    return new FerryError('CONFIG_INVALID', `${this.source}:${this.line}: ${message}`);
  }
}
