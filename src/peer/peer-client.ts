import { FerryError } from '../errors/ferry-error.js';
import type { Endpoint } from '../transport/endpoint.js';
import { explainTransportFailure, httpCall, TransportFailure } from '../transport/http-call.js';
import { type PeerCall, type PeerInput, type PeerReply, peerUrl } from '../shared/peer-protocol/peer-calls.js';
import type { PeerAddress } from './peer-address.js';

/**
 * The source ferryd's client for a destination ferryd's peer API. A failure
 * says whether the request can have reached the peer (`delivered`): a refused
 * connection or a failed TLS handshake cannot, a timeout or a reset after
 * sending might have.
 */
export class PeerClient {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly defaultTimeoutMs = 120_000,
  ) {}

  get address(): PeerAddress {
    return this.endpoint.target;
  }

  /**
   * Makes one call of the peer protocol (shared/peer-protocol/peer-calls.ts):
   * its path, method and types come from the table, never from the caller.
   * A POST without a body sends {} (as the callers always did).
   */
  call<C extends PeerCall>(call: C, input: PeerInput<C>, options: { timeoutMs?: number } = {}): Promise<PeerReply<C>> {
    const i = input as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
    const body = i.body ?? (call.method === 'POST' ? {} : undefined);
    return this.request<PeerReply<C>>(call.method, peerUrl(call, i), body, options.timeoutMs);
  }

  private async request<T>(method: string, path: string, body: unknown, timeoutMs = this.defaultTimeoutMs): Promise<T> {
    let reply;
    try {
      reply = await httpCall(this.endpoint, { method, path, timeoutMs, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      if (err instanceof TransportFailure) throw unreachable(this.endpoint, err.cause, err.connected ? 'unknown' : 'no');
      if (err instanceof FerryError) {
        // The connection could not be set up (ssh, certificates): nothing was sent.
        throw new FerryError('MIG_PEER_UNREACHABLE', `operation failed: cannot talk to the destination ferryd at ${this.endpoint.describe}: ${err.message}`, {
          cause: err,
          hint: err.hint,
          details: { delivered: 'no', peer: this.endpoint.target.uri },
        });
      }
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(reply.text || '{}');
    } catch {
      throw new FerryError('MIG_PEER_REFUSED', `the destination sent a reply that is not JSON (HTTP ${reply.status})`);
    }
    if (reply.status >= 400) throw this.refusal(reply.status, (json as { error?: unknown }).error);
    return json as T;
  }

  /**
   * An error reply. ferryd's own carry a code; one without (Node's HTTP server answering before ferryd saw the
   * request: 408 when the request did not arrive within its timeouts, as over a stalled link) is said as what it is.
   */
  private refusal(status: number, error: unknown): FerryError {
    const own = error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string';
    if (own) return FerryError.fromJSON(error);
    if (status === 408) {
      return new FerryError(
        'MIG_PEER_UNREACHABLE',
        `operation failed: cannot talk to the destination ferryd at ${this.endpoint.describe}: it timed out the request before it arrived whole (HTTP 408): the link to it stalled`,
        { details: { delivered: 'no', peer: this.endpoint.target.uri } },
      );
    }
    return new FerryError('MIG_PEER_REFUSED', `operation failed: the destination at ${this.endpoint.describe} answered HTTP ${status} without a ferryd error`, {
      details: { status, peer: this.endpoint.target.uri },
    });
  }
}

function unreachable(endpoint: Endpoint, err: NodeJS.ErrnoException, delivered: 'no' | 'unknown'): FerryError {
  return new FerryError(
    'MIG_PEER_UNREACHABLE',
    `operation failed: cannot talk to the destination ferryd at ${endpoint.describe}: ${explainTransportFailure(err, { tls: endpoint.target.transport === 'tls' })}`,
    {
      cause: err,
      details: { delivered, peer: endpoint.target.uri },
    },
  );
}

/** True when a failed peer call certainly did not reach the peer. */
export function notDelivered(err: unknown): boolean {
  return err instanceof FerryError && err.code === 'MIG_PEER_UNREACHABLE' && err.details.delivered === 'no';
}
