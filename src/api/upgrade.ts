import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The connection of a request that asked to be upgraded (Connection: Upgrade), kept on the raw request. */
const UPGRADE = Symbol('ferry.upgrade');

interface UpgradeRequest extends http.IncomingMessage {
  [UPGRADE]?: { socket: Duplex; head: Buffer };
}

/**
 * Lets routes take over a connection (HTTP/1.1 Upgrade; the console stream):
 * node hands an upgrade request to the server's 'upgrade' listener instead
 * of the request handler, so it is sent through fastify's router here, with
 * a response bound to its socket. Every hook runs as for any request (the
 * access checks above all); a route that upgrades takes the socket with
 * upgradedConnection() and hijacks the reply, any other answer is sent as
 * usual and the connection closed after it.
 */
export function routeUpgrades(app: FastifyInstance): void {
  app.server.on('upgrade', (req: UpgradeRequest, socket: Duplex, head: Buffer) => {
    // node took its own listeners off the socket: without this one, a reset connection would be an uncaught error.
    socket.on('error', () => socket.destroy());
    req[UPGRADE] = { socket, head };
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as import('node:net').Socket);
    res.once('finish', () => socket.end());
    try {
      app.routing(req, res);
    } catch (err) {
      app.log.warn({ err, url: req.url }, 'upgrade request failed');
      socket.destroy();
    }
  });
}

/** The connection to upgrade, when the request asked for `protocol` (Upgrade: protocol); undefined otherwise. */
export function upgradedConnection(request: FastifyRequest, protocol: string): { socket: Duplex; head: Buffer } | undefined {
  const raw = request.raw as UpgradeRequest;
  const asked = String(request.headers.upgrade ?? '')
    .split(',')
    .map((p) => p.trim().toLowerCase());
  return raw[UPGRADE] && asked.includes(protocol) ? raw[UPGRADE] : undefined;
}

/** Answers an upgrade: 101 Switching Protocols, with extra headers; the socket then carries the protocol. */
export function switchProtocols(socket: Duplex, protocol: string, headers: Record<string, string>): void {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Connection: Upgrade',
    `Upgrade: ${protocol}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}`),
  ];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}
