import http from 'node:http';

/** One domain event as the API streams it (src/host/domain-events.ts). */
export type StreamedEvent = Record<string, unknown> & { type: string; at: number };

/**
 * A ferryd's event stream (GET /v1/events on its socket), recorded from
 * start() until stop(): the daemon's own account of what happened and when,
 * for assertions on order rather than on wall-clock thresholds.
 */
export class EventStream {
  readonly events: StreamedEvent[] = [];
  private req: http.ClientRequest | undefined;

  constructor(private readonly socket: string) {}

  /** Resolves once the stream is open (the server sent its first comment). */
  start(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.req = http.get({ socketPath: this.socket, path: '/v1/events' }, (res) => {
        let buf = '';
        let open = false;
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
          if (!open) {
            open = true;
            resolve(this);
          }
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const data = buf
              .slice(0, i)
              .split('\n')
              .find((l) => l.startsWith('data: '));
            buf = buf.slice(i + 2);
            if (data) this.events.push(JSON.parse(data.slice(6)) as StreamedEvent);
          }
        });
        res.on('error', () => undefined);
      });
      this.req.on('error', reject);
    });
  }

  stop(): void {
    this.req?.destroy();
  }

  of(type: string, match: (e: StreamedEvent) => boolean = () => true): StreamedEvent[] {
    return this.events.filter((e) => e.type === type && match(e));
  }
}
