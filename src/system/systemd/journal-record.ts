/**
 * journald's native protocol (systemd's "Native Journal Protocol" document): one datagram per entry, each
 * field either `NAME=value\n` or, when the value holds a newline (or is binary), `NAME\n`, its length as a
 * 64-bit little-endian integer, the bytes and `\n`. Names are upper-case letters, digits and '_', not
 * starting with a digit or '_' (those are journald's trusted fields), at most 64 characters.
 */
export type JournalFields = ReadonlyArray<readonly [name: string, value: string | Buffer]>;

/** Whether journald accepts `name` from a client. */
export function validFieldName(name: string): boolean {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(name);
}

/** A field name from a ferry log key: camelCase and punctuation become SNAKE_CASE under `prefix`. */
export function fieldName(prefix: string, key: string): string {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return `${prefix}${snake}`.slice(0, 64);
}

/** Encodes one entry; fields with invalid names are left out (journald would drop the whole entry). */
export function encodeJournalRecord(fields: JournalFields): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    if (!validFieldName(name)) continue;
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (!bytes.includes(0x0a)) {
      parts.push(Buffer.from(`${name}=`, 'utf8'), bytes, Buffer.from('\n'));
      continue;
    }
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(Buffer.from(`${name}\n`, 'utf8'), length, bytes, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Decodes an entry (the inverse of encodeJournalRecord): what the tests and a stand-in journald read. */
export function decodeJournalRecord(data: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < data.length) {
    const nl = data.indexOf(0x0a, i);
    const eq = data.indexOf(0x3d, i);
    if (nl < 0) throw new Error(`journal record: field at ${i} has no end`);
    if (eq >= 0 && eq < nl) {
      out.push([data.subarray(i, eq).toString('utf8'), data.subarray(eq + 1, nl).toString('utf8')]);
      i = nl + 1;
      continue;
    }
    const name = data.subarray(i, nl).toString('utf8');
    const size = Number(data.readBigUInt64LE(nl + 1));
    const start = nl + 9;
    out.push([name, data.subarray(start, start + size).toString('utf8')]);
    if (data[start + size] !== 0x0a) throw new Error(`journal record: field ${name} does not end in a newline`);
    i = start + size + 1;
  }
  return out;
}
