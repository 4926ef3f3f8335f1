import net from 'node:net';

/**
 * A TCP proxy that can cut one host off from a server the way a network
 * partition does: partition() stops carrying bytes in both directions and
 * leaves every connection open (the client sees silence, not a reset, as
 * with dropped packets); new connections are accepted and go nowhere.
 * heal() drops the connections that lost bytes (the client reconnects) and
 * carries new ones again.
 */
export class PartitionProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private cut = false;
  /** When partition() was called (ms). */
  partitionedAt = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, host, () => resolve()));
  }

  partition(): void {
    this.cut = true;
    this.partitionedAt = Date.now();
  }

  heal(): void {
    this.cut = false;
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (this.cut) return; // held open, carried nowhere
    const upstream = net.connect(this.target.port, this.target.host);
    upstream.on('error', () => undefined);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (!this.cut) client.destroy();
    });
    client.on('close', () => {
      if (!this.cut) upstream.destroy();
    });
    client.on('data', (chunk: Buffer) => {
      if (!this.cut) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.cut) client.write(chunk);
    });
  }
}
