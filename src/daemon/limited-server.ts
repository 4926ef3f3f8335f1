import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { FdBudget } from './fd-budget.js';

/** How one listener limits its clients (libvirt's max_clients and max_anonymous_clients, and timeouts). */
export interface ConnectionLimits {
  /** Connections at once on this listener; more are closed as they come. */
  maxClients: number;
  /** TLS only: connections at once that have not finished their handshake (they need no certificate to exist). */
  maxAnonymous?: number;
  /** Descriptors that must stay free for ferryd itself when this listener takes a connection. */
  reserveFds: number;
  /** A TLS handshake must finish within this time (Node's default is 120 s). */
  handshakeTimeoutMs?: number;
  /** A request's headers must arrive within this time; so must a whole request body within requestTimeoutMs. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * The HTTP server of one listener (fastify's serverFactory), with its limits:
 * at most maxClients connections, at most maxAnonymous unfinished TLS
 * handshakes, a connection refused while fewer than reserveFds descriptors
 * are free, and handshakes and request headers that time out in seconds.
 * Refused connections are closed at once and counted in the log.
 */
export function limitedServer(o: { name: string; limits: ConnectionLimits; budget: FdBudget; log: Logger; tls?: https.ServerOptions }) {
  return function limitedServerFactory(handler: Handler): http.Server {
    const { limits } = o;
    const timeouts = {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    };
    const server = o.tls
      ? https.createServer({ ...o.tls, ...timeouts, handshakeTimeout: limits.handshakeTimeoutMs ?? 10_000 }, handler)
      : http.createServer(timeouts, handler);
    server.maxConnections = limits.maxClients;
    const refusals = new Refusals(o.name, o.log);
    server.on('drop', () => refusals.count('max_clients'));
    let anonymous = 0;
    const pending = new WeakSet<Socket>();
    server.on('connection', (socket: Socket) => {
      if (o.budget.free() < limits.reserveFds) {
        refusals.count('descriptors');
        socket.destroy();
        return;
      }
      if (!o.tls || limits.maxAnonymous === undefined) return;
      if (anonymous >= limits.maxAnonymous) {
        refusals.count('max_anonymous_clients');
        socket.destroy();
        return;
      }
      anonymous++;
      pending.add(socket);
      socket.once('close', () => {
        if (pending.delete(socket)) anonymous--;
      });
    });
    if (o.tls) {
      server.on('secureConnection', (tlsSocket: TLSSocket) => {
        const raw = (tlsSocket as TLSSocket & { _parent?: Socket })._parent;
        if (raw && pending.delete(raw)) anonymous--;
      });
    }
    return server;
  };
}

/** Refused connections, logged at most once per second per listener (a flood must not flood the log too). */
class Refusals {
  private counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly listener: string,
    private readonly log: Logger,
  ) {}

  count(why: string): void {
    this.counts.set(why, (this.counts.get(why) ?? 0) + 1);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.log.warn({ listener: this.listener, refused: Object.fromEntries(this.counts) }, 'connections refused: listener at its limit');
      this.counts = new Map();
    }, 1000).unref();
  }
}
