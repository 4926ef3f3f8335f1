import net from 'node:net';
import { FerryError } from '../errors/ferry-error.js';

/**
 * Hands out ports of the migration range (libvirt's 49152–49215) to incoming
 * migrations: a port is reserved until released and must be free to bind.
 */
export class PortAllocator {
  private readonly reserved = new Set<number>();

  constructor(private readonly min = 49152, private readonly max = 49215) {}

  async acquire(address: string, preferred?: number): Promise<number> {
    const candidates = preferred ? [preferred] : range(this.min, this.max);
    for (const port of candidates) {
      if (this.reserved.has(port)) continue;
      this.reserved.add(port);
      if (await canBind(address, port)) return port;
      this.reserved.delete(port);
    }
    throw new FerryError('MIG_PEER_REFUSED', preferred
      ? `operation failed: migration port ${preferred} on ${address} is in use`
      : `operation failed: no free port in the migration range ${this.min}-${this.max} on ${address}`);
  }

  release(port: number): void {
    this.reserved.delete(port);
  }
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
