import net from 'node:net';
import { FerryError } from '../errors/ferry-error.js';

/**
 * Hands out ports of the migration range (libvirt's 49152–49215) to incoming
 * migrations: a port is reserved until released and must be free to bind.
 */
export class PortAllocator {
  private readonly reserved = new Set<number>();
  /** Ports a pre-flight probe listens on, and how to end the probe. */
  private readonly probes = new Map<number, () => Promise<void>>();

  constructor(
    private readonly min = 49152,
    private readonly max = 49215,
    private readonly exhausted: (address: string, min: number, max: number) => FerryError = (address, min, max) =>
      new FerryError('MIG_PEER_REFUSED', `operation failed: no free port in the migration range ${min}-${max} on ${address}`),
  ) {}

  async acquire(address: string, preferred?: number): Promise<number> {
    // A migration that follows its own pre-flight wants the port the probe holds.
    if (preferred !== undefined) await this.probes.get(preferred)?.();
    const candidates = preferred ? [preferred] : range(this.min, this.max);
    for (const port of candidates) {
      if (this.reserved.has(port)) continue;
      this.reserved.add(port);
      if (await canBind(address, port)) return port;
      this.reserved.delete(port);
    }
    if (preferred) throw new FerryError('MIG_PEER_REFUSED', `operation failed: migration port ${preferred} on ${address} is in use`);
    throw this.exhausted(address, this.min, this.max);
  }

  release(port: number): void {
    this.reserved.delete(port);
  }

  /**
   * Listens on a reserved port so a source can check it reaches it. The probe
   * ends (and the port is released) at the first connection, after `ttlMs`,
   * or when a migration acquires that very port.
   */
  async probe(address: string, port: number, ttlMs = 5000): Promise<void> {
    const server = net.createServer((s) => {
      s.destroy();
      void end();
    });
    let ended: Promise<void> | undefined;
    const end = (): Promise<void> => {
      ended ??= new Promise<void>((resolve) => {
        clearTimeout(timer);
        this.probes.delete(port);
        server.close(() => {
          this.release(port);
          resolve();
        });
      });
      return ended;
    };
    const timer = setTimeout(() => void end(), ttlMs);
    timer.unref();
    this.probes.set(port, end);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    }).catch(async (err: unknown) => {
      await end().catch(() => undefined);
      throw err;
    });
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
