import { parseConnectionUri } from '../transport/connection-uri.js';
import { type Endpoint, endpointFor } from '../transport/endpoint.js';
import { loadTlsMaterial } from '../transport/tls-material.js';
import { PeerClient } from './peer-client.js';

export interface PeerConnectorOptions {
  /** This host's certificates: over TLS a ferryd presents its host certificate (client-cert.pem) to its peers. */
  tlsDir: string;
  sshBinary?: string;
  /** An ssh tunnel to a peer closes after this long unused (default 60 s). */
  idleMs?: number;
}

/** Idle connections to a peer close after 30 s, before fastify's 72 s keep-alive timeout can close them under a request. */
const KEEP_ALIVE_MS = 30_000;

/**
 * Makes the clients ferryd uses to call other ferryds, from their URIs. One
 * endpoint per peer: its connections stay open between the calls of a
 * migration (no TLS handshake for each) and close after 30 s idle. Over ssh
 * the tunnel is kept while in use and closed once idle (it reopens when
 * needed).
 */
export class PeerConnector {
  private readonly endpoints = new Map<string, { endpoint: Endpoint; timer?: NodeJS.Timeout }>();

  constructor(private readonly o: PeerConnectorOptions) {}

  client(uri: string, timeoutMs?: number): PeerClient {
    return new PeerClient(this.endpoint(uri), timeoutMs);
  }

  close(): void {
    for (const { endpoint, timer } of this.endpoints.values()) {
      clearTimeout(timer);
      endpoint.close();
    }
    this.endpoints.clear();
  }

  private endpoint(uri: string): Endpoint {
    let entry = this.endpoints.get(uri);
    if (!entry) {
      const target = parseConnectionUri(uri);
      entry = {
        endpoint: endpointFor(target, {
          tls: () => loadTlsMaterial(this.o.tlsDir, 'client'),
          keepAliveMs: KEEP_ALIVE_MS,
          ...(this.o.sshBinary ? { sshBinary: this.o.sshBinary } : {}),
        }),
      };
      this.endpoints.set(uri, entry);
    }
    const e = entry;
    if (e.endpoint.target.transport !== 'ssh') return e.endpoint;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.endpoint.close();
      this.endpoints.delete(uri);
    }, this.o.idleMs ?? 60_000);
    e.timer.unref();
    return e.endpoint;
  }
}
