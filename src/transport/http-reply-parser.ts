/** A whole HTTP/1.1 reply: its status, its headers (names in lower case) and its body. */
export interface ParsedReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Reads one HTTP/1.1 reply from the bytes of a connection that carries only
 * it (the request said `Connection: close`). The body is framed by
 * Content-Length, by chunked transfer coding, or by the end of the
 * connection, as RFC 9112 section 6.3 orders them. Feed it the bytes as they
 * come; it returns the reply as soon as it is whole, and `end()` says what
 * the closed connection left: the reply, or an error for a truncated one.
 */
export class HttpReplyParser {
  private chunks: Buffer[] = [];
  private size = 0;
  private head: { status: number; headers: Record<string, string>; bodyStart: number } | undefined;

  /** The reply once these bytes complete it, else undefined. */
  feed(bytes: Buffer): ParsedReply | undefined {
    this.chunks.push(bytes);
    this.size += bytes.length;
    if (!this.head) {
      const all = this.bytes();
      const end = all.indexOf(HEADER_END);
      if (end < 0) return undefined;
      this.head = { ...parseHead(all.subarray(0, end).toString('latin1')), bodyStart: end + HEADER_END.length };
    }
    return this.complete(false);
  }

  /** The connection closed: the reply it carried, or an error saying how it fell short. */
  end(): ParsedReply {
    if (!this.head) throw hangUp(this.size === 0 ? 'the connection closed before a reply' : 'the connection closed in the middle of the reply headers');
    const reply = this.complete(true);
    if (!reply) throw hangUp('the connection closed in the middle of the reply body');
    return reply;
  }

  private complete(closed: boolean): ParsedReply | undefined {
    const head = this.head as NonNullable<HttpReplyParser['head']>;
    const reply = (body: Buffer): ParsedReply => ({ status: head.status, headers: head.headers, body });
    if (head.status === 204 || head.status === 304) return reply(Buffer.alloc(0));
    const body = this.bytes().subarray(head.bodyStart);
    if (/\bchunked\b/i.test(head.headers['transfer-encoding'] ?? '')) {
      const decoded = dechunk(body);
      return decoded ? reply(decoded) : undefined;
    }
    const length = head.headers['content-length'];
    if (length !== undefined) {
      const n = Number(length);
      if (!Number.isSafeInteger(n) || n < 0) throw parseError(`a bad Content-Length: ${length}`);
      return body.length >= n ? reply(body.subarray(0, n)) : undefined;
    }
    return closed ? reply(body) : undefined;
  }

  private bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}

function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!m) throw parseError(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw parseError(`a bad header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), headers };
}

/** The body of a chunked message once its last chunk has come, else undefined. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const sizeText = data.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw parseError(`a bad chunk size: ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      // Trailer fields (none expected) end with an empty line.
      return data.indexOf(CRLF, lineEnd + 2) >= 0 ? Buffer.concat(parts) : undefined;
    }
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** node's http client says "socket hang up" (ECONNRESET) for a reply cut short: the same, so callers read it alike. */
function hangUp(detail: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`socket hang up (${detail})`), { code: 'ECONNRESET' });
}

function parseError(detail: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`the server's reply is not valid HTTP/1.1: ${detail}`), { code: 'HPE_INVALID' });
}
