/** How much XML ferry reads: well above any real domain (a few KiB, rarely 100 KiB), far below what stalls ferryd. */
export const XML_LIMITS = {
  /** Bytes of the document (UTF-8). virsh itself reads at most 10 MiB from a file. */
  maxBytes: 1024 * 1024,
  /** Elements in the document (a domain with 100 disks and 100 NICs has about 2,000). */
  maxElements: 20_000,
  /** Levels of nesting, libxml2's own default (a domain uses about 6). */
  maxDepth: 256,
} as const;

export interface XmlLimits {
  maxBytes: number;
  maxElements: number;
  maxDepth?: number;
}

/** Why a document was refused before it was parsed. */
export type XmlRefusal =
  | { kind: 'too-large'; what: 'bytes' | 'elements' | 'levels of nesting'; limit: number; found: number }
  | { kind: 'doctype'; declaration: string; line: number };

/**
 * One linear pass over a document before any parser sees it: counts its
 * elements and finds DTD markup (<!DOCTYPE, <!ENTITY, ...) outside comments
 * and CDATA. ferry never reads a DTD, so no entity is ever declared or
 * expanded. Returns the first reason to refuse the document, or undefined.
 */
export function scanXml(source: string, limits: XmlLimits = XML_LIMITS): XmlRefusal | undefined {
  // A UTF-8 byte is at least a UTF-16 unit's worth: only near the limit is the exact count needed.
  if (source.length > limits.maxBytes || (source.length * 3 > limits.maxBytes && Buffer.byteLength(source, 'utf8') > limits.maxBytes)) {
    return { kind: 'too-large', what: 'bytes', limit: limits.maxBytes, found: Buffer.byteLength(source, 'utf8') };
  }
  let elements = 0;
  let i = source.indexOf('<');
  while (i >= 0 && i < source.length) {
    if (source.startsWith('<!--', i)) {
      i = skipPast(source, '-->', i + 4);
    } else if (source.startsWith('<![CDATA[', i)) {
      i = skipPast(source, ']]>', i + 9);
    } else if (source.startsWith('<?', i)) {
      i = skipPast(source, '?>', i + 2);
    } else if (source.startsWith('<!', i)) {
      const declaration = /^<![A-Za-z]*/.exec(source.slice(i, i + 12))?.[0] ?? '<!';
      return { kind: 'doctype', declaration, line: lineAt(source, i) };
    } else {
      if (isNameStart(source.charCodeAt(i + 1)) && ++elements > limits.maxElements) {
        return { kind: 'too-large', what: 'elements', limit: limits.maxElements, found: countElements(source, i, elements) };
      }
      i += 1;
    }
    i = source.indexOf('<', i);
  }
  return undefined;
}

function skipPast(source: string, end: string, from: number): number {
  const at = source.indexOf(end, from);
  return at < 0 ? source.length : at + end.length;
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58 || c > 127;
}

function lineAt(source: string, index: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i >= 0 && i < index; i = source.indexOf('\n', i + 1)) line++;
  return line;
}

/** The rest of the count, for the message (cheap: the document is already within the byte limit). */
function countElements(source: string, from: number, sofar: number): number {
  let n = sofar;
  for (let i = source.indexOf('<', from + 1); i >= 0; i = source.indexOf('<', i + 1)) if (isNameStart(source.charCodeAt(i + 1))) n++;
  return n;
}
