import http from 'node:http';
import https from 'node:https';
import type { Endpoint } from './endpoint.js';
import { oneShotRequest } from './one-shot-http.js';

export interface HttpCall {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpReply {
  status: number;
  text: string;
}

/**
 * A request that did not get a reply. `connected` says whether the request
 * can have reached the daemon: false when the connection (or the TLS
 * handshake) never came up, true when it broke after that.
 */
export class TransportFailure extends Error {
  constructor(
    override readonly cause: NodeJS.ErrnoException,
    readonly connected: boolean,
    readonly endpoint: string,
  ) {
    super(cause.message);
    this.name = 'TransportFailure';
  }
}

/**
 * The request options, with no TLS server name when there is no TLS. node's agent otherwise works one out from
 * the Host header, and its test of whether that is an IP address compiles an IPv6 regular expression that costs
 * every CLI command several milliseconds of its start (BENCHMARKS.md, CLI start-up).
 */
function plainServerName(opts: Awaited<ReturnType<Endpoint['requestOptions']>>): https.RequestOptions {
  return opts.secure ? opts.options : { ...opts.options, servername: '' };
}

/** One JSON request over the endpoint's transport; resolves with the status and body, whatever the status. */
export async function httpCall(endpoint: Endpoint, call: HttpCall): Promise<HttpReply> {
  // An ssh tunnel that cannot open or TLS files that cannot be read fail here, as FerryErrors.
  const opts = await endpoint.requestOptions();
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string | number> = { ...(call.headers ?? {}) };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  // The endpoint's keep-alive agent (a daemon's peers) goes through node's http client; a connection of its own (the CLI) does not need it.
  if (!opts.options.agent) {
    const { body: _json, ...rest } = call;
    return oneShotCall(endpoint, opts, { ...rest, headers, ...(payload !== undefined ? { body: payload } : {}) });
  }
  try {
    return await agentCall(endpoint, opts, call, headers, payload);
  } catch (err) {
    // A kept-alive connection that broke before any reply: most often one the daemon had closed while it sat idle
    // (it restarted, or a stalled link made it give up on it). A GET may be asked again on a new connection (it changes
    // nothing: RFC 9110's idempotent methods); anything else may have reached the daemon, and its caller decides.
    if (!(err instanceof StaleConnection) || call.method !== 'GET') throw err;
    try {
      return await agentCall(endpoint, opts, call, headers, payload);
    } catch (again) {
      // The first one may have reached a daemon that died while it ran: whether it did is not known.
      if (again instanceof TransportFailure && !again.connected) throw new TransportFailure(again.cause, true, again.endpoint);
      throw again;
    }
  }
}

/** A reused keep-alive socket that failed before any byte of a reply came back. */
class StaleConnection extends TransportFailure {}

function agentCall(
  endpoint: Endpoint,
  opts: Awaited<ReturnType<Endpoint['requestOptions']>>,
  call: HttpCall,
  headers: Record<string, string | number>,
  payload: string | undefined,
): Promise<HttpReply> {
  const mod = opts.secure ? https : http;
  return new Promise<HttpReply>((resolve, reject) => {
    let connected = false;
    let replied = false;
    const req = mod.request(
      {
        ...plainServerName(opts),
        path: call.path,
        method: call.method,
        agent: opts.options.agent,
        headers,
        ...(call.signal ? { signal: call.signal } : {}),
      },
      (res) => {
        connected = true;
        replied = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) => reject(new TransportFailure(err, true, endpoint.describe)));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 500, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = call.timeoutMs
      ? setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${call.timeoutMs} ms`), { code: 'ETIMEDOUT' })), call.timeoutMs)
      : undefined;
    req.on('socket', (s) => {
      // A kept-alive connection is up already: whatever fails now may have reached the daemon.
      if (req.reusedSocket) connected = true;
      else s.once(opts.secure ? 'secureConnect' : 'connect', () => (connected = true));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const stale = req.reusedSocket && !replied && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      reject(new (stale ? StaleConnection : TransportFailure)(err, connected, endpoint.describe));
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** httpCall on a connection of its own, closed after the reply (oneShotRequest). */
async function oneShotCall(
  endpoint: Endpoint,
  opts: Awaited<ReturnType<Endpoint['requestOptions']>>,
  call: Omit<HttpCall, 'headers' | 'body'> & { headers: Record<string, string | number>; body?: string },
): Promise<HttpReply> {
  const o = opts.options;
  let connected = false;
  try {
    const reply = await oneShotRequest(
      {
        secure: opts.secure,
        ...(o.socketPath ? { socketPath: o.socketPath } : { host: o.host ?? 'localhost', port: Number(o.port) }),
        ...(opts.secure ? { tls: { ca: o.ca, cert: o.cert, key: o.key, ...(o.servername ? { servername: o.servername } : {}) } } : {}),
      },
      {
        method: call.method,
        path: call.path,
        headers: call.headers,
        ...(call.body !== undefined ? { body: call.body } : {}),
        ...(call.timeoutMs ? { timeoutMs: call.timeoutMs } : {}),
        ...(call.signal ? { signal: call.signal } : {}),
        onConnected: () => (connected = true),
      },
    );
    return { status: reply.status, text: reply.body.toString('utf8') };
  } catch (err) {
    throw new TransportFailure(err as NodeJS.ErrnoException, connected, endpoint.describe);
  }
}

/** One server-sent event's fields besides its data. */
export interface EventFrame {
  id?: string;
  event?: string;
}

/**
 * Opens a server-sent event stream; `onData` gets each event's data and its
 * id and type, `onOpen` the reply's headers once the server has answered.
 * Resolves when the stream ends or the signal aborts.
 */
export async function httpEventStream(
  endpoint: Endpoint,
  path: string,
  onData: (data: string, frame: EventFrame) => void,
  o: { signal?: AbortSignal; headers?: Record<string, string>; onOpen?: (headers: http.IncomingHttpHeaders) => void } = {},
): Promise<void> {
  const opts = await endpoint.requestOptions();
  const mod = opts.secure ? https : http;
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = mod.request(
      { ...plainServerName(opts), path, method: 'GET', agent: false, headers: o.headers ?? {}, ...(o.signal ? { signal: o.signal } : {}) },
      (res) => {
        connected = true;
        if ((res.statusCode ?? 500) >= 400) {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => reject(Object.assign(new Error(text), { status: res.statusCode, body: text })));
          return;
        }
        o.onOpen?.(res.headers);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let sep: number;
          while ((sep = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, sep);
            buffer = buffer.slice(sep + 2);
            const lines = block.split('\n');
            const field = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
            const data = lines
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            const id = field('id');
            const event = field('event');
            if (data) onData(data, { ...(id !== undefined ? { id } : {}), ...(event !== undefined ? { event } : {}) });
          }
        });
        res.on('end', () => resolve());
        res.on('error', (err) => (o.signal?.aborted ? resolve() : reject(err)));
        // The daemon went away mid-stream (a restart): the stream has ended, whichever of 'end' and 'error' came or not.
        res.on('close', () => resolve());
      },
    );
    req.on('socket', (s) => s.once(opts.secure ? 'secureConnect' : 'connect', () => (connected = true)));
    req.on('error', (err: NodeJS.ErrnoException) => (o.signal?.aborted ? resolve() : reject(new TransportFailure(err, connected, endpoint.describe))));
    req.end();
  });
}

/** Words a transport failure for people: what went wrong with the socket, TCP or TLS. */
export function explainTransportFailure(err: NodeJS.ErrnoException, o: { tls?: boolean } = {}): string {
  const code = err.code ?? '';
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'EACCES':
      return 'Permission denied';
    case 'ETIMEDOUT':
      return err.message;
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unable to resolve host name '${(err as { hostname?: string }).hostname ?? ''}'`;
    case 'ECONNRESET':
      return o.tls === false
        ? 'the connection was closed by the other side'
        : 'the connection was closed by the other side (for TLS: it refused this certificate, or none was given)';
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `the server's certificate is not signed by our CA (${code})`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the server's certificate is not for this host name: ${err.message}`;
    case 'CERT_HAS_EXPIRED':
      return "the server's certificate has expired";
    case 'CERT_NOT_YET_VALID':
      return "the server's certificate is not valid yet (check the clocks)";
  }
  if (/ALERT_UNKNOWN_CA|alert unknown ca/i.test(`${code} ${err.message}`)) return "the server refused this certificate: it is not signed by the server's CA";
  if (/CERTIFICATE_REQUIRED|alert certificate required|HANDSHAKE_FAILURE/i.test(`${code} ${err.message}`))
    return 'the server requires a client certificate and none was accepted';
  if (/ALERT_BAD_CERTIFICATE|CERTIFICATE_EXPIRED|alert bad certificate/i.test(`${code} ${err.message}`)) return 'the server refused this certificate';
  if (/socket hang up/.test(err.message)) return 'the connection was closed before a reply (is ferryd running behind it?)';
  return err.message;
}
