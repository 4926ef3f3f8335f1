import http from 'node:http';
import { FerryError } from '../errors/ferry-error.js';
import type { ConnectionTarget } from './uri.js';

/** The CLI's side of the HTTP API: JSON requests over the daemon's unix socket. */
export class ApiClient {
  constructor(private readonly target: ConnectionTarget) {
    if (target.transport !== 'unix') {
      throw new FerryError('TRANSPORT_UNSUPPORTED', `the ${target.transport} transport (${target.uri}) is not available in this release`);
    }
  }

  get uri(): string {
    return this.target.uri;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** Opens the server-sent event stream; `onEvent` gets each event's JSON. Resolves when the stream ends. */
  events(onEvent: (event: Record<string, unknown>) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.target.socket, path: '/v1/events', method: 'GET', signal }, (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let sep: number;
          while ((sep = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, sep);
            buffer = buffer.slice(sep + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            if (data) onEvent(JSON.parse(data) as Record<string, unknown>);
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (err) => (signal?.aborted ? resolve() : reject(this.connectError(err))));
      req.end();
    });
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.target.socket,
          path,
          method,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? {} : JSON.parse(text);
            } catch {
              reject(new FerryError('INTERNAL_ERROR', `the daemon sent a reply that is not JSON (HTTP ${res.statusCode})`));
              return;
            }
            if ((res.statusCode ?? 500) >= 400) reject(FerryError.fromJSON((json as { error?: unknown }).error));
            else resolve(json as T);
          });
        },
      );
      req.on('error', (err) => reject(this.connectError(err)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private connectError(err: NodeJS.ErrnoException): FerryError {
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'ECONNREFUSED' ? 'Connection refused' : err.code === 'EACCES' ? 'Permission denied' : err.message;
    return new FerryError('CONNECT_FAILED', `Failed to connect socket to '${this.target.socket}': ${why}`, {
      cause: err,
      details: { uri: this.target.uri, socket: this.target.socket },
    });
  }
}
