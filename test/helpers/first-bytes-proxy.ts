import net from 'node:net';

/** One connection through the proxy: the port it came in on and the first bytes the client sent. */
export interface ProxiedConnection {
  port: number;
  first: Buffer;
}

/**
 * A TCP proxy for migration traffic: each port it listens on forwards to the
 * same port on the target host, and it keeps the first bytes each client
 * sent on each connection, to tell a TLS ClientHello (0x16 0x03 ...) from
 * QEMU's plain "QEVM" stream on the wire.
 */
export class FirstBytesProxy {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  /** In the order they were accepted; clear() starts a new record. */
  readonly connections: ProxiedConnection[] = [];

  constructor(
    private readonly targetHost: string,
    private readonly keep = 8,
  ) {}

  /** Listens on `host` at each port, forwarding to the target host at the same port. */
  async listen(host: string, ports: number[]): Promise<void> {
    for (const port of ports) {
      const server = net.createServer((client) => this.forward(client, port));
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    }
  }

  clear(): void {
    this.connections.length = 0;
  }

  /** Connections that carried data (a port check connects and sends nothing). */
  withData(): ProxiedConnection[] {
    return this.connections.filter((c) => c.first.length > 0);
  }

  /** True when the bytes start a TLS handshake record (content type 22, version 3.x). */
  static isTlsHandshake(first: Buffer): boolean {
    return first[0] === 0x16 && first[1] === 0x03;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private forward(client: net.Socket, port: number): void {
    const record: ProxiedConnection = { port, first: Buffer.alloc(0) };
    this.connections.push(record);
    const upstream = net.connect(port, this.targetHost);
    this.sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (record.first.length < this.keep) record.first = Buffer.concat([record.first, chunk.subarray(0, this.keep - record.first.length)]);
    });
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => {
        this.sockets.delete(s);
        (s === client ? upstream : client).end();
      });
    }
  }
}
