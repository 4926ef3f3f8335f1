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
 * elements and their nesting, and finds DTD markup (<!DOCTYPE, <!ENTITY, ...)
 * outside comments and CDATA. ferry never reads a DTD, so no entity is ever
 * declared or expanded, and the parser never meets a document deep enough to
 * overflow its stack. Returns the first reason to refuse the document, or undefined.
 */
export function scanXml(source: string, limits: XmlLimits = XML_LIMITS): XmlRefusal | undefined {
  // A UTF-8 byte is at least a UTF-16 unit's worth: only near the limit is the exact count needed.
  if (source.length > limits.maxBytes || (source.length * 3 > limits.maxBytes && Buffer.byteLength(source, 'utf8') > limits.maxBytes)) {
    return { kind: 'too-large', what: 'bytes', limit: limits.maxBytes, found: Buffer.byteLength(source, 'utf8') };
  }
  let elements = 0;
  let depth = 0;
  const maxDepth = limits.maxDepth ?? XML_LIMITS.maxDepth;
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
    } else if (source.charCodeAt(i + 1) === 47 /* '/' */) {
      depth--;
      i += 2;
    } else {
      if (isNameStart(source.charCodeAt(i + 1))) {
        if (++elements > limits.maxElements) {
          return { kind: 'too-large', what: 'elements', limit: limits.maxElements, found: countElements(source, i, elements) };
        }
        const end = tagEnd(source, i + 1);
        if (source.charCodeAt(end - 1) !== 47 /* '/' */ && ++depth > maxDepth) {
          return { kind: 'too-large', what: 'levels of nesting', limit: maxDepth, found: depth };
        }
        i = end;
      }
      i += 1;
    }
    i = source.indexOf('<', i);
  }
  return undefined;
}

/** Where a start tag ends (its '>'), past quoted attribute values, which may hold '>'. */
function tagEnd(source: string, from: number): number {
  let quote = 0;
  for (let i = from; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) {
      quote = c;
    } else if (c === 62 /* '>' */) {
      return i;
    }
  }
  return source.length;
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
