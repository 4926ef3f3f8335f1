import { FerryError } from '../errors/ferry-error.js';

export type ConfValue = string | number | boolean | string[];

/**
 * Parses libvirt's configuration syntax (qemu.conf, qemu-lockd.conf):
 * `key = "string" | 123 | [ "a", "b" ]`, `#` comments. Values are checked
 * against the allowed keys by the caller.
 */
export function parseConfFile(text: string, source = 'ferryd.conf'): Map<string, { value: ConfValue; line: number }> {
  const out = new Map<string, { value: ConfValue; line: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = stripComment(lines[i] as string).trim();
    if (line === '') continue;
    // Lists may span lines: keep reading until the closing bracket.
    while (line.includes('[') && !line.includes(']') && i + 1 < lines.length) {
      line += ` ${stripComment(lines[++i] as string).trim()}`;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/.exec(line);
    if (!m) throw new FerryError('CONFIG_INVALID', `${source}:${lineNo}: expected 'key = value', got '${line}'`);
    out.set(m[1] as string, { value: parseValue((m[2] as string).trim(), `${source}:${lineNo}`), line: lineNo });
  }
  return out;
}

function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' && line[i - 1] !== '\\') inString = !inString;
    if (c === '#' && !inString) return line.slice(0, i);
  }
  return line;
}

function parseValue(raw: string, where: string): ConfValue {
  if (raw.startsWith('"')) {
    if (!raw.endsWith('"') || raw.length < 2) throw new FerryError('CONFIG_INVALID', `${where}: unterminated string ${raw}`);
    return raw.slice(1, -1).replace(/\\"/g, '"');
  }
  if (raw.startsWith('[')) {
    if (!raw.endsWith(']')) throw new FerryError('CONFIG_INVALID', `${where}: unterminated list ${raw}`);
    const inner = raw.slice(1, -1).trim();
    if (inner === '') return [];
    return inner.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
      const v = parseValue(s, where);
      if (typeof v !== 'string') throw new FerryError('CONFIG_INVALID', `${where}: list items must be strings`);
      return v;
    });
  }
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  throw new FerryError('CONFIG_INVALID', `${where}: cannot parse value ${raw} (strings need double quotes)`);
}
