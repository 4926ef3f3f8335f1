import { FerryError } from '../errors/ferry-error.js';
import { READONLY_HEADER } from '../shared/protocol.js';
import type { ConnectionTarget } from '../transport/connection-uri.js';
import type { Endpoint } from '../transport/endpoint.js';
import { type EventFrame, explainTransportFailure, httpCall, httpEventStream, TransportFailure } from '../transport/http-call.js';
import { EVENTS_PATH, LAST_EVENT_ID_HEADER } from '../shared/event-stream-protocol.js';
import { httpUpgrade, type UpgradedConnection, UpgradeRefused } from '../transport/http-upgrade.js';

/** The CLI's side of the HTTP API: JSON requests to ferryd over the URI's transport (unix socket, ssh, TLS). */
export class ApiClient {
  private readonly headers: Record<string, string>;
  /** ferryd has answered on this connection at least once (a later cut is a lost connection, not a failure to connect). */
  private answered = false;

  constructor(
    private readonly endpoint: Endpoint,
    options: { readonly?: boolean } = {},
  ) {
    this.headers = options.readonly ? { [READONLY_HEADER]: '1' } : {};
  }

  get uri(): string {
    return this.endpoint.target.uri;
  }

  get target(): ConnectionTarget {
    return this.endpoint.target;
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
  async events(onEvent: (event: Record<string, unknown>) => void, signal?: AbortSignal): Promise<void> {
    return this.eventStream((data) => onEvent(JSON.parse(data) as Record<string, unknown>), { ...(signal ? { signal } : {}) });
  }

  /**
   * Opens the server-sent event stream, resuming after `lastEventId` when
   * given (shared/event-stream-protocol.ts); `onFrame` gets each event's data
   * and fields, `onOpen` is called once the daemon has answered. Resolves when
   * the stream ends; a failure to connect is a CONNECT_FAILED FerryError.
   */
  async eventStream(
    onFrame: (data: string, frame: EventFrame) => void,
    o: { signal?: AbortSignal; lastEventId?: string; onOpen?: () => void } = {},
  ): Promise<void> {
    const { signal } = o;
    const headers = { ...this.headers, ...(o.lastEventId !== undefined ? { [LAST_EVENT_ID_HEADER]: o.lastEventId } : {}) };
    try {
      const onOpen = (): void => {
        this.answered = true;
        o.onOpen?.();
      };
      await httpEventStream(this.endpoint, EVENTS_PATH, onFrame, { headers, ...(signal ? { signal } : {}), onOpen });
    } catch (err) {
      if (signal?.aborted) return;
      const body = (err as { body?: string }).body;
      if (body !== undefined) throw errorFromBody(body, (err as { status?: number }).status ?? 500);
      throw this.connectError(err);
    }
  }

  /** POSTs to a route that upgrades the connection to `protocol` (the console stream); its errors as for any request. */
  async upgrade(path: string, protocol: string): Promise<UpgradedConnection> {
    try {
      return await httpUpgrade(this.endpoint, { method: 'POST', path, protocol, headers: this.headers });
    } catch (err) {
      if (err instanceof UpgradeRefused) throw errorFromBody(err.body, err.status);
      throw this.connectError(err);
    }
  }

  /** Closes what the connection holds (an ssh tunnel). */
  close(): void {
    this.endpoint.close();
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let reply;
    try {
      reply = await httpCall(this.endpoint, { method, path, headers: this.headers, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      throw this.connectError(err);
    }
    this.answered = true;
    let json: unknown;
    try {
      json = reply.text === '' ? {} : JSON.parse(reply.text);
    } catch {
      throw new FerryError('INTERNAL_ERROR', `the daemon sent a reply that is not JSON (HTTP ${reply.status})`);
    }
    if (reply.status >= 400) throw FerryError.fromJSON((json as { error?: unknown }).error);
    return json as T;
  }

  private connectError(err: unknown): FerryError {
    if (err instanceof FerryError) return err;
    if (!(err instanceof TransportFailure)) return new FerryError('CONNECT_FAILED', String(err));
    const t = this.endpoint.target;
    const why = explainTransportFailure(err.cause);
    // ferryd had answered on this connection, and now it ended before a reply: virsh's "Disconnected ... due to end of
    // file". A first call cut off the same way is a failure to connect, as virsh says it: ferryd over its client
    // limit closes at once, and with TLS 1.3 a refused client certificate resets only after the client's handshake.
    if (err.connected && this.answered) {
      return new FerryError('CONNECTION_LOST', `Disconnected from ${t.uri} due to end of file: ferryd closed the connection before it replied (${why})`, {
        cause: err.cause,
        details: { uri: t.uri },
      });
    }
    const message =
      t.transport === 'unix' || t.transport === 'ssh'
        ? `Failed to connect socket to '${t.socket}'${t.transport === 'ssh' ? ` on ${t.host}` : ''}: ${why}`
        : `unable to connect to server at '${t.host}:${t.port}': ${why}`;
    return new FerryError('CONNECT_FAILED', message, {
      cause: err.cause,
      details: { uri: t.uri },
      ...(err.cause.code === 'EACCES' ? { hint: 'Run as root or as a member of the ferry group (usermod -aG ferry USER), or connect read-only with -r' } : {}),
      ...(t.transport === 'tls' ? { hint: 'Check the certificates: the CA in ca-cert.pem must have signed both sides (docs/security.md)' } : {}),
    });
  }
}

function errorFromBody(text: string, status: number): FerryError {
  try {
    return FerryError.fromJSON((JSON.parse(text) as { error?: unknown }).error);
  } catch {
    return new FerryError('INTERNAL_ERROR', `the daemon answered HTTP ${status}`);
  }
}
