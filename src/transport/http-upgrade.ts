import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Endpoint } from './endpoint.js';
import { TransportFailure } from './http-call.js';

/** An upgraded connection: the socket now carries the protocol; `head` holds its first bytes if they came with the 101. */
export interface UpgradedConnection {
  socket: Duplex;
  headers: http.IncomingHttpHeaders;
  head: Buffer;
}

/** The daemon answered the upgrade request with an ordinary reply (an error): its status and body. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the daemon answered HTTP ${status} instead of switching protocols`);
    this.name = 'UpgradeRefused';
  }
}

/**
 * An HTTP/1.1 upgrade over the endpoint's transport (unix socket, ssh tunnel,
 * TLS, TCP): resolves with the connection once the daemon switched
 * protocols (101), rejects with UpgradeRefused when it answered otherwise,
 * or with TransportFailure when it could not be reached.
 */
export async function httpUpgrade(
  endpoint: Endpoint,
  call: { method: string; path: string; protocol: string; headers?: Record<string, string> },
): Promise<UpgradedConnection> {
  const opts = await endpoint.requestOptions();
  const mod = opts.secure ? https : http;
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = mod.request({
      ...opts.options,
      path: call.path,
      method: call.method,
      agent: false,
      headers: { ...(call.headers ?? {}), connection: 'Upgrade', upgrade: call.protocol, 'content-length': 0 },
    });
    req.on('socket', (s) => s.once(opts.secure ? 'secureConnect' : 'connect', () => (connected = true)));
    req.on('upgrade', (res, socket, head) => resolve({ socket, headers: res.headers, head }));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 500, body)));
      res.on('error', (err: NodeJS.ErrnoException) => reject(new TransportFailure(err, true, endpoint.describe)));
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(new TransportFailure(err, connected, endpoint.describe)));
    req.end();
  });
}
