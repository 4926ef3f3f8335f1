import net from 'node:net';

/**
 * A TCP proxy for the migration stream that cuts every connection once a
 * number of bytes went through: the "network failure in the middle" of a test.
 */
export class CuttingProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  forwarded = 0;
  cut = false;
  /** When it cut the connections (Date.now()). */
  cutAt: number | undefined;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly cutAfterBytes: number,
  ) {
    this.server = net.createServer((client) => {
      if (this.cut) return client.destroy();
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      const count = (chunk: Buffer): void => {
        this.forwarded += chunk.length;
        if (this.forwarded >= this.cutAfterBytes && !this.cut) this.cutAll();
      };
      client.on('data', count);
      client.pipe(upstream);
      upstream.pipe(client);
      for (const s of [client, upstream]) {
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, host, () => resolve()));
  }

  cutAll(): void {
    if (!this.cut) this.cutAt = Date.now();
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.cutAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
