import http from 'node:http';
import { FerryError } from '../errors/ferry-error.js';
import type { PeerAddress } from './peer-address.js';

/**
 * The source ferryd's client for a destination ferryd's peer API. A failure
 * says whether the request can have reached the peer (`delivered`): a refused
 * connection cannot, a timeout or a reset after sending might have.
 */
export class PeerClient {
  constructor(readonly address: PeerAddress, private readonly defaultTimeoutMs = 120_000) {}

  get<T>(path: string, options: { timeoutMs?: number } = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, options.timeoutMs);
  }

  post<T>(path: string, body: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
    return this.request<T>('POST', path, body, options.timeoutMs);
  }

  private request<T>(method: string, path: string, body: unknown, timeoutMs = this.defaultTimeoutMs): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const a = this.address;
    const target = a.kind === 'unix' ? { socketPath: a.socket } : { host: a.host, port: a.port };
    return new Promise<T>((resolve, reject) => {
      let sent = false;
      const req = http.request(
        {
          ...target,
          path,
          method,
          agent: false,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(unreachable(a, err, 'unknown')));
          res.on('end', () => {
            clearTimeout(timer);
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
            } catch {
              reject(new FerryError('MIG_PEER_REFUSED', `the destination sent a reply that is not JSON (HTTP ${res.statusCode})`));
              return;
            }
            if ((res.statusCode ?? 500) >= 400) {
              const e = FerryError.fromJSON((json as { error?: unknown }).error);
              reject(e);
            } else resolve(json as T);
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('socket', (s) => s.once('connect', () => (sent = true)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(unreachable(a, err, sent ? 'unknown' : 'no'));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function unreachable(a: PeerAddress, err: NodeJS.ErrnoException, delivered: 'no' | 'unknown'): FerryError {
  const where = a.kind === 'unix' ? a.socket : `${a.host}:${a.port}`;
  return new FerryError('MIG_PEER_UNREACHABLE', `operation failed: cannot talk to the destination ferryd at ${where}: ${err.code ?? err.message}`, {
    cause: err,
    details: { delivered, peer: a.uri },
  });
}

/** True when a failed peer call certainly did not reach the peer. */
export function notDelivered(err: unknown): boolean {
  return err instanceof FerryError && err.code === 'MIG_PEER_UNREACHABLE' && err.details.delivered === 'no';
}
