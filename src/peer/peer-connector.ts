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

/**
 * Makes the clients ferryd uses to call other ferryds, from their URIs. Over
 * ssh one tunnel per peer is kept while it is in use (a migration makes
 * several calls) and closed once idle.
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
    const target = parseConnectionUri(uri);
    const make = (): Endpoint => endpointFor(target, { tls: () => loadTlsMaterial(this.o.tlsDir, 'client'), ...(this.o.sshBinary ? { sshBinary: this.o.sshBinary } : {}) });
    if (target.transport !== 'ssh') return make();
    let entry = this.endpoints.get(uri);
    if (!entry) {
      entry = { endpoint: make() };
      this.endpoints.set(uri, entry);
    }
    const e = entry;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.endpoint.close();
      this.endpoints.delete(uri);
    }, this.o.idleMs ?? 60_000);
    e.timer.unref();
    return e.endpoint;
  }
}
