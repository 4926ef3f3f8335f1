import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { LeaseTable } from './lease-table.js';
import { LockBusyError, LockClearRefusedError, type LockBackend } from './lock-backend.js';
import type { LockdReply, LockdRequest } from '../locking/lockd-protocol.js';

/** Serves the lease table on a unix socket (0600: ferryd runs as root). */
export class LockdServer {
  readonly instance = randomUUID();
  private readonly server: net.Server;

  constructor(
    private readonly table: LeaseTable,
    private readonly backend: LockBackend,
    private readonly log: Logger,
  ) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  async listen(path: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true });
    try {
      unlinkSync(path);
    } catch {
      // no stale socket
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
  }

  /** Serves on a listening socket systemd passed (ferry-lockd.socket: socket activation, as virtlockd's). */
  async listenFd(fd: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ fd }, () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === '') continue;
        void this.handle(line).then((reply) => socket.write(`${JSON.stringify(reply)}\n`));
      }
    });
  }

  private async handle(line: string): Promise<LockdReply> {
    let req: LockdRequest;
    try {
      req = JSON.parse(line) as LockdRequest;
    } catch {
      return { id: -1, instance: this.instance, ok: false, error: { code: 'INVALID_ARGUMENT', message: 'malformed request' } };
    }
    const base = { id: req.id, instance: this.instance };
    try {
      switch (req.op) {
        case 'acquire':
          await this.table.acquire(req.owner, req.leases);
          return { ...base, ok: true };
        case 'setpid':
          this.table.setPid(req.uuid, req.pid);
          return { ...base, ok: true };
        case 'release':
          return { ...base, ok: true, released: await this.table.release(req.uuid, req.resources) };
        case 'list':
          return { ...base, ok: true, leases: this.table.list() };
        case 'held': {
          const h = await this.table.held(req.resource);
          return { ...base, ok: true, anywhere: h.anywhere, ...(h.here ? { here: h.here } : {}) };
        }
        case 'clear':
          if ((await this.table.held(req.resource)).here) {
            return { ...base, ok: false, error: { code: 'LOCK_IN_USE', message: `the lock on '${req.resource}' is held by a domain on this host` } };
          }
          await this.backend.clear(req.resource, Array.isArray(req.lockspaces) ? req.lockspaces : []);
          this.log.warn({ resource: req.resource }, 'stale lock cleared');
          return { ...base, ok: true };
        default:
          return { ...base, ok: false, error: { code: 'INVALID_ARGUMENT', message: 'unknown operation' } };
      }
    } catch (err) {
      if (err instanceof LockClearRefusedError) {
        this.log.warn({ resource: err.resource, reason: err.reason }, 'lock-clear refused');
        return { ...base, ok: false, error: { code: 'LOCK_CLEAR_REFUSED', message: err.message, resource: err.resource } };
      }
      if (err instanceof LockBusyError) return { ...base, ok: false, error: { code: 'LOCK_HELD', message: err.message, resource: err.lease.resource } };
      this.log.error({ err }, 'lockd request failed');
      if (req.op === 'acquire') {
        return {
          ...base,
          ok: false,
          error: { code: 'LEASE_BACKEND_FAILED', message: `cannot take the lease: ${(err as Error).message}`, resource: req.leases[0]?.resource ?? '' },
        };
      }
      return { ...base, ok: false, error: { code: 'INTERNAL_ERROR', message: (err as Error).message } };
    }
  }
}
