import net from 'node:net';

/**
 * A TCP proxy in front of one server for the fault matrix's network faults. It never drops bytes of a
 * connection it keeps (TCP does not lose data in a partition: it waits), so a stream that lives through a fault
 * is the same stream after it.
 * - cut(ms): every connection is reset, and new ones are refused for `ms` (a link that went down, then came back).
 * - stall(): nothing moves in either direction and the connections stay open (a black-holed link: the peers see
 *   silence, not a reset); new connections are accepted into the same silence. resume() carries the bytes again;
 *   a connection whose other end closed meanwhile is closed then, as the peer would learn once the link is back.
 */
export class FaultProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private refuseUntil = 0;
  /** Each direction's flush of what a stall held back (called on resume). */
  private readonly flushers = new Set<() => void>();
  private stalled = false;
  /** Connections reset by cut(), refused while cut, or held by a stall: whether the fault hit anything. */
  hits = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
  }

  /** Connections open through the proxy now. */
  get open(): number {
    return this.pairs.size;
  }

  cut(refuseMs: number): void {
    this.refuseUntil = Date.now() + refuseMs;
    for (const p of this.pairs) {
      this.hits++;
      p.client.resetAndDestroy();
      p.upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  stall(): void {
    this.stalled = true;
    for (const p of this.pairs) {
      this.hits++;
      p.client.pause();
      p.upstream.pause();
    }
  }

  resume(): void {
    this.stalled = false;
    for (const p of [...this.pairs]) if (p.client.destroyed || p.upstream.destroyed) this.drop(p);
    for (const flush of this.flushers) flush();
  }

  close(): Promise<void> {
    for (const p of this.pairs) this.drop(p);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Carries `from`'s bytes to `to`, every one, in order, with backpressure. Not pipe(): a pipe resumes its source on
   * every drain, which would leak bytes through a stall. In a stall a chunk already read is held back with its socket
   * paused, and written on resume().
   */
  private forward(from: net.Socket, to: net.Socket): void {
    const held: Buffer[] = [];
    const flush = (): void => {
      if (to.destroyed) return;
      while (!this.stalled && held.length > 0) {
        if (!to.write(held.shift() as Buffer)) {
          from.pause();
          to.once('drain', flush);
          return;
        }
      }
      if (!this.stalled && !from.destroyed) from.resume();
    };
    from.on('data', (chunk: Buffer) => {
      held.push(chunk);
      if (this.stalled) from.pause();
      else flush();
    });
    from.on('end', () => {
      if (!this.stalled) to.end();
    });
    this.flushers.add(flush);
  }

  private drop(p: { client: net.Socket; upstream: net.Socket }): void {
    p.client.destroy();
    p.upstream.destroy();
    this.pairs.delete(p);
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (Date.now() < this.refuseUntil) {
      this.hits++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    upstream.on('error', () => undefined);
    const p = { client, upstream };
    this.pairs.add(p);
    this.forward(client, upstream);
    this.forward(upstream, client);
    if (this.stalled) {
      this.hits++;
      client.pause();
      upstream.pause();
    }
    const closed = (): void => {
      // In a stall the other end learns of it only once the link is back (resume()).
      if (!this.stalled) this.drop(p);
    };
    client.on('close', closed);
    upstream.on('close', closed);
  }
}
