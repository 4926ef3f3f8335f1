import http from 'node:http';

export interface PeerRequest {
  method: string;
  path: string;
  body: unknown;
}

/** A scripted answer: a JSON body with a status (200 when left out), a FerryError (`{ error: { code } }`), or no answer. */
export type PeerAnswer = { status?: number; body: unknown } | { error: { code: string; message?: string } } | { hang: true };

/**
 * The other ferryd, as far as a migration's peer calls go: a real HTTP server on a unix socket, reached
 * through ferry's own PeerConnector and PeerClient (`uri`), that records every request and answers as
 * scripted by method and path. Unscripted requests get 404 MIG_NOT_FOUND, as an unknown migration does.
 * close() makes it unreachable.
 */
export class FakePeer {
  readonly requests: PeerRequest[] = [];
  private readonly answers: Array<{ method: string; path: string; answer: (req: PeerRequest) => PeerAnswer }> = [];
  private readonly server: http.Server;
  private closed = false;

  private constructor(readonly socket: string) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async listen(socket: string): Promise<FakePeer> {
    const p = new FakePeer(socket);
    await new Promise<void>((resolve) => p.server.listen(socket, () => resolve()));
    return p;
  }

  /** The connection URI the migration records name this peer by. */
  get uri(): string {
    return `ferry:///system?socket=${this.socket}`;
  }

  /** Answers `method path` (a later script of the same request wins). */
  on(method: 'GET' | 'POST', path: string, answer: PeerAnswer | ((req: PeerRequest) => PeerAnswer)): this {
    this.answers.unshift({ method, path, answer: typeof answer === 'function' ? answer : () => answer });
    return this;
  }

  /** `GET /peer/v1/migrations/ID` answers this phase (and incoming status). */
  phase(id: string, phase: string, extra: Record<string, unknown> = {}): this {
    return this.on('GET', `/peer/v1/migrations/${id}`, { body: { side: 'destination', phase, state: null, incoming: null, ...extra } });
  }

  /** The requests to paths, as "METHOD path". */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      const r: PeerRequest = { method: req.method ?? 'GET', path: req.url ?? '/', body: text ? (JSON.parse(text) as unknown) : undefined };
      this.requests.push(r);
      const found = this.answers.find((a) => a.method === r.method && a.path === r.path);
      const answer = found ? found.answer(r) : { error: { code: 'MIG_NOT_FOUND', message: `migration is unknown on this host` } };
      if ('hang' in answer) return;
      if ('error' in answer) {
        res.writeHead(answer.error.code === 'MIG_NOT_FOUND' ? 404 : 409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: answer.error.code, message: answer.error.message ?? answer.error.code, details: {} } }));
        return;
      }
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  }
}
