import net from 'node:net';
import tls from 'node:tls';
import { HttpReplyParser, type ParsedReply } from './http-reply-parser.js';

/** Where to connect: a unix socket, or a TCP host and port, with TLS options when `secure`. */
export interface OneShotTarget {
  socketPath?: string;
  host?: string;
  port?: number;
  secure: boolean;
  /** ca, cert, key, servername: as for tls.connect. */
  tls?: tls.ConnectionOptions;
}

export interface OneShotRequest {
  method: string;
  path: string;
  headers: Record<string, string | number>;
  body?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once the connection (and the TLS handshake) is up: from then on the request may reach the server. */
  onConnected?: () => void;
}

/**
 * One HTTP/1.1 request on a connection of its own, closed after the reply
 * (`Connection: close`): what a CLI process needs. Written on node's net and
 * tls modules rather than its http client, which costs every command ~9 ms of
 * start-up to load (BENCHMARKS.md, CLI start-up). Errors are node's: a
 * connection refused is ECONNREFUSED, a reply cut short is ECONNRESET
 * ("socket hang up"), a timeout ETIMEDOUT, an aborted signal an AbortError.
 */
export function oneShotRequest(target: OneShotTarget, req: OneShotRequest): Promise<ParsedReply> {
  return new Promise<ParsedReply>((resolve, reject) => {
    if (req.signal?.aborted) return reject(aborted());
    let head: string;
    try {
      head = requestHead(target, req);
    } catch (err) {
      return reject(err);
    }
    const socket = connect(target);
    const parser = new HttpReplyParser();
    let settled = false;
    const settle = (err: unknown, reply?: ParsedReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as ParsedReply);
    };
    const onAbort = (): void => settle(aborted());
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = req.timeoutMs
      ? setTimeout(() => settle(Object.assign(new Error(`no answer within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' })), req.timeoutMs)
      : undefined;
    socket.once(target.secure ? 'secureConnect' : 'connect', () => {
      req.onConnected?.();
      // One write: a server that answers before reading the body (a refusal) and closes must not cut a second
      // write short (EPIPE) while its answer waits to be read.
      socket.write(req.body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(req.body, 'utf8')]));
    });
    socket.on('data', (bytes: Buffer) => {
      try {
        const reply = parser.feed(bytes);
        if (reply) settle(undefined, reply);
      } catch (err) {
        settle(err);
      }
    });
    socket.on('end', () => {
      try {
        settle(undefined, parser.end());
      } catch (err) {
        settle(err);
      }
    });
    // A write cut short after the server answered (EPIPE, ECONNRESET): its answer, if it is whole, is the reply.
    socket.on('error', (err) => {
      try {
        settle(undefined, parser.end());
      } catch {
        settle(err);
      }
    });
    // A close without 'end' (reset by the peer) after an error was reported, or with nothing: a hang-up.
    socket.on('close', () => settle(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  });
}

function connect(t: OneShotTarget): net.Socket {
  if (t.secure) {
    return tls.connect({ ...(t.tls ?? {}), ...(t.socketPath ? { path: t.socketPath } : { host: t.host, port: t.port }) });
  }
  return t.socketPath ? net.connect({ path: t.socketPath }) : net.connect({ host: t.host as string, port: t.port as number });
}

function requestHead(t: OneShotTarget, req: OneShotRequest): string {
  const host = t.socketPath ? 'localhost' : `${(t.host ?? '').includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  const headers: Record<string, string | number> = { host, connection: 'close', ...req.headers };
  if (req.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(req.body);
  let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const text = String(value);
    if (/[\r\n]/.test(name) || /[\r\n]/.test(text)) throw new TypeError(`invalid character in the ${JSON.stringify(name)} header`);
    head += `${name}: ${text}\r\n`;
  }
  return `${head}\r\n`;
}

function aborted(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}
