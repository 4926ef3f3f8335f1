import net from 'node:net';

/**
 * A TCP proxy in front of a ferryd's peer API that loses one reply: the
 * first request whose request line matches `pattern` is delivered, the
 * daemon's answer is held back and the client's connection reset as soon as
 * that answer arrives; from then on the proxy is a partition (every
 * connection is cut at once) until heal(). So the request certainly reached
 * the daemon and was acted on, and the caller certainly did not learn how.
 */
export class ReplyLosingProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private partitioned = false;
  /** Set once the matching request went through and its reply was dropped. */
  lost = false;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly pattern: RegExp,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, host, () => resolve()));
  }

  /** Ends the partition: new connections are forwarded again. */
  heal(): void {
    this.partitioned = false;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.partitioned) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    upstream.on('error', () => undefined);
    this.sockets.add(client).add(upstream);
    let holding = false;
    let head = '';
    client.on('data', (chunk: Buffer) => {
      if (!holding && !this.lost) {
        head = (head + chunk.toString('latin1')).slice(-4096);
        if (this.pattern.test(head)) holding = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (holding) {
        // The daemon answered: drop the answer, cut the caller, and partition.
        holding = false;
        this.lost = true;
        this.partitioned = true;
        for (const s of this.sockets) s.resetAndDestroy();
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    for (const s of [client, upstream]) s.on('close', () => this.sockets.delete(s));
  }
}
