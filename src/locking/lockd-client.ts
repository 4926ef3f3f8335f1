import { spawn } from 'node:child_process';
import net from 'node:net';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { LockdReply, LockdRequest } from './lockd-protocol.js';
import type { HeldLease, Lease, LeaseOwner } from '../shared/lease.js';
import type { LockDriver } from './lock-driver.js';

type RequestBody = LockdRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface LockdClientOptions {
  socket: string;
  /** How to start ferry-lockd when nothing answers on the socket (it then outlives ferryd). */
  spawn?: { command: string; args: string[]; logFile?: string };
  log: Logger;
}

/**
 * lock_manager = "lockd": ferryd's side of ferry-lockd. One short connection
 * per request. When lockd does not answer, ferryd starts it (detached, so
 * the leases it holds outlive ferryd).
 */
export class LockdClient implements LockDriver {
  readonly name = 'lockd' as const;
  private nextId = 1;
  private instance: string | undefined;
  private starting: Promise<void> | undefined;
  private restartListener: (() => void) | undefined;

  constructor(private readonly o: LockdClientOptions) {}

  async acquire(owner: LeaseOwner, leases: Lease[]): Promise<void> {
    if (leases.length > 0) await this.call({ op: 'acquire', owner, leases });
  }

  async setPid(uuid: string, pid: number): Promise<void> {
    await this.call({ op: 'setpid', uuid, pid });
  }

  async release(uuid: string, resources?: string[]): Promise<Lease[]> {
    return (await this.call({ op: 'release', uuid, ...(resources ? { resources } : {}) })).released ?? [];
  }

  async list(): Promise<HeldLease[]> {
    return (await this.call({ op: 'list' })).leases ?? [];
  }

  async held(resource: string): Promise<{ here?: LeaseOwner; anywhere: boolean }> {
    const r = await this.call({ op: 'held', resource });
    return { anywhere: r.anywhere ?? false, ...(r.here ? { here: r.here } : {}) };
  }

  async clear(resource: string, lockspaces: string[]): Promise<void> {
    await this.call({ op: 'clear', resource, lockspaces });
  }

  /**
   * Calls `onLost` when ferry-lockd goes away: an idle connection to it
   * closes when its process ends (or fails at once when nothing listens).
   * Returns a function that stops watching.
   */
  watch(onLost: () => void): () => void {
    let stopped = false;
    const socket = net.createConnection({ path: this.o.socket });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!stopped) onLost();
    });
    return () => {
      stopped = true;
      socket.destroy();
    };
  }

  /** `listener` runs when a reply shows a new ferry-lockd instance: the old one, and every lease it held, is gone. */
  onRestart(listener: () => void): void {
    this.restartListener = listener;
  }

  /** Makes sure lockd answers, starting it when it does not. */
  /** Health for /metrics: the leases lockd holds, asked without starting a lockd that does not answer (that throws). */
  async probe(): Promise<number> {
    const reply = await this.send({ op: 'list' });
    if (!reply.ok) throw new FerryError('LOCKD_UNAVAILABLE', reply.error.message);
    return (reply.leases ?? []).length;
  }

  async ensureRunning(): Promise<void> {
    await this.call({ op: 'list' });
  }

  private async call(body: RequestBody): Promise<Extract<LockdReply, { ok: true }>> {
    let reply: LockdReply;
    try {
      reply = await this.send(body);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!this.o.spawn || (code !== 'ENOENT' && code !== 'ECONNREFUSED')) {
        throw new FerryError('LOCKD_UNAVAILABLE', `Failed to connect socket to '${this.o.socket}': ${(err as Error).message}`, { cause: err });
      }
      await this.start();
      reply = await this.send(body);
    }
    const restarted = this.instance !== undefined && reply.instance !== this.instance;
    this.instance = reply.instance;
    if (restarted) {
      this.o.log.error({ socket: this.o.socket }, 'ferry-lockd restarted: the leases it held were released');
      this.restartListener?.();
    }
    if (!reply.ok) {
      const code =
        reply.error.code === 'LOCK_HELD' || reply.error.code === 'LOCK_IN_USE' || reply.error.code === 'LOCK_CLEAR_REFUSED'
          ? reply.error.code
          : reply.error.code === 'LEASE_BACKEND_FAILED'
            ? 'LOCK_BACKEND_FAILED'
            : 'LOCKD_UNAVAILABLE';
      throw new FerryError(code, reply.error.message, { details: { resource: reply.error.resource } });
    }
    return reply;
  }

  private send(body: RequestBody): Promise<LockdReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: this.o.socket });
      let buf = '';
      const timer = setTimeout(() => socket.destroy(new Error('ferry-lockd did not answer in 30 s')), 30_000);
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write(`${JSON.stringify({ ...body, id })}\n`));
      socket.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        socket.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as LockdReply);
        } catch (err) {
          reject(err);
        }
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private start(): Promise<void> {
    this.starting ??= (async () => {
      const spec = this.o.spawn as { command: string; args: string[]; logFile?: string };
      this.o.log.info({ socket: this.o.socket }, 'starting ferry-lockd');
      const { openSync, closeSync } = await import('node:fs');
      const out = spec.logFile ? openSync(spec.logFile, 'a', 0o600) : 'ignore';
      const child = spawn(spec.command, spec.args, { detached: true, stdio: ['ignore', out, out] });
      if (typeof out === 'number') closeSync(out);
      child.unref();
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await this.send({ op: 'list' });
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new FerryError('LOCKD_UNAVAILABLE', `ferry-lockd did not start on ${this.o.socket}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }
}
