import { EventEmitter } from 'node:events';
import net from 'node:net';
import { QmpProtocolError, QmpTimeoutError } from './errors.js';

export interface QmpTransportEvents {
  /** One JSON object received from the peer. */
  message: [message: Record<string, unknown>];
  /** The connection ended; the error says why when it was not a clean close. */
  close: [error: Error | undefined];
}

/** What a QmpClient needs from a connection: framed JSON objects in and out. */
export interface QmpTransport extends EventEmitter<QmpTransportEvents> {
  send(message: object): void;
  close(): void;
}

/** A QMP transport over a stream socket: one JSON object per line. */
export class QmpSocketTransport extends EventEmitter<QmpTransportEvents> implements QmpTransport {
  private buffer = '';
  private closed = false;

  constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish(undefined));
  }

  send(message: object): void {
    if (this.closed) return;
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
    this.finish(undefined);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        this.socket.destroy();
        this.finish(new QmpProtocolError(`malformed QMP message: ${line.slice(0, 200)}`, { cause: err }));
        return;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        this.socket.destroy();
        this.finish(new QmpProtocolError(`QMP message is not an object: ${line.slice(0, 200)}`));
        return;
      }
      this.emit('message', parsed as Record<string, unknown>);
    }
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', err);
  }
}

export interface ConnectOptions {
  /** Keep retrying while the socket does not exist yet or refuses, up to this long. */
  timeoutMs?: number;
  retryIntervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Connects to QEMU's QMP server socket. QEMU creates the socket a moment after it
 * starts, so ENOENT and ECONNREFUSED are retried until the deadline.
 */
export async function connectQmpSocket(path: string, options: ConnectOptions = {}): Promise<QmpSocketTransport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const interval = options.retryIntervalMs ?? 3;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const socket = await connectOnce(path, options.signal);
      return new QmpSocketTransport(socket);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw err;
      if (Date.now() >= deadline) throw new QmpTimeoutError(`connecting to QMP socket ${path}`, timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

function connectOnce(path: string, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}
