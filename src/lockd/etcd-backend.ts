import { Etcd3, type Lease as EtcdLease } from 'etcd3';
import type { Logger } from 'pino';
import type { Lease, LeaseOwner } from '../shared/lease.js';
import { type LockBackend, LockBusyError, type LockHandle } from './lock-backend.js';

/**
 * Leases in etcd, for clusters without a shared lockspace directory. Each
 * holder has one key per resource, attached to this lockd's etcd lease (TTL,
 * kept alive while lockd runs): when lockd (or its host) dies, etcd drops
 * its keys after the TTL. A per-resource mutex makes check-and-take atomic.
 *
 * A host cut off from etcd must stop counting on its keys before they
 * expire, since another host may take them once they do: when no keepalive
 * has succeeded for half the TTL, the session counts as lost (`onSessionLost`;
 * ferry-lockd then exits and ferryd applies on_lockfailure to the domains
 * that cannot get their leases back). An acquire that etcd does not answer
 * within a sixth of the TTL (at least 0.5 s) fails. Keys expire one TTL after
 * the last keepalive etcd saw: ferryd pauses the domains as soon as this
 * lockd exits, about TTL/2 after that keepalive (LeaseKeeper's fence).
 */
export class EtcdBackend implements LockBackend {
  private readonly client: Etcd3;
  private lease: EtcdLease | undefined;
  private lastKeepalive = 0;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly o: {
      endpoints: string[];
      prefix: string;
      ttlSeconds: number;
      hostId: string;
      log: Logger;
      /** The session (and with it every key) is or may be gone. */
      onSessionLost?: (reason: string) => void;
    },
  ) {
    this.client = new Etcd3({ hosts: o.endpoints, dialTimeout: 3000 });
    this.watchdog = setInterval(() => {
      if (this.lease && Date.now() - this.lastKeepalive > (o.ttlSeconds * 1000) / 2) {
        this.sessionLost(`no etcd keepalive succeeded for ${Math.round((Date.now() - this.lastKeepalive) / 100) / 10} s (lease_ttl ${o.ttlSeconds} s)`);
      }
    }, 100);
    this.watchdog.unref();
  }

  private session(): EtcdLease {
    if (!this.lease) {
      const lease = this.client.lease(this.o.ttlSeconds);
      this.lease = lease;
      this.lastKeepalive = Date.now();
      lease.on('keepaliveSucceeded', () => (this.lastKeepalive = Date.now()));
      lease.on('lost', (err) => this.sessionLost(`etcd lease lost: ${err.message}`));
    }
    return this.lease;
  }

  private sessionLost(reason: string): void {
    if (!this.lease) return;
    this.lease.release(); // stop its keepalives; revoking needs the etcd we may not reach
    this.lease = undefined;
    this.o.log.error({ reason }, 'etcd session lost: every lease this host held is gone or about to go');
    this.o.onSessionLost?.(reason);
  }

  /** Fails `work` when etcd does not answer within a sixth of the TTL (a host cut off from etcd). */
  private async deadline<T>(what: string, work: Promise<T>): Promise<T> {
    const ms = Math.round(Math.max(500, (this.o.ttlSeconds * 1000) / 6));
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`etcd did not answer ${what} within ${ms / 1000} s`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private base(resource: string): string {
    return `${this.o.prefix}/leases/${encodeURIComponent(resource)}/`;
  }

  acquire(lease: Lease, owner: LeaseOwner): Promise<LockHandle> {
    return this.deadline(`a lease on '${lease.label}'`, this.take(lease, owner));
  }

  private async take(lease: Lease, owner: LeaseOwner): Promise<LockHandle> {
    const base = this.base(lease.resource);
    const key = `${base}${lease.mode}/${this.o.hostId}:${owner.uuid}`;
    const mutex = this.client.lock(`${this.o.prefix}/mutex/${encodeURIComponent(lease.resource)}`).ttl(this.o.ttlSeconds);
    await mutex.acquire();
    try {
      const holders = Object.keys(await this.client.getAll().prefix(base).strings());
      const others = holders.filter((k) => k !== key);
      const conflict = lease.mode === 'exclusive' ? others.length > 0 : others.some((k) => k.startsWith(`${base}exclusive/`));
      if (conflict) throw new LockBusyError(lease);
      await this.session()
        .put(key)
        .value(JSON.stringify({ host: this.o.hostId, owner, label: lease.label, since: Date.now() }));
      return { kind: 'etcd', key };
    } finally {
      await mutex.release().catch(() => undefined);
    }
  }

  async release(handle: LockHandle): Promise<void> {
    if (handle.kind === 'etcd') await this.client.delete().key(handle.key);
  }

  async isHeld(resource: string): Promise<boolean> {
    return (await this.client.getAll().prefix(this.base(resource)).count()) > 0;
  }

  /** Every holder of a resource, cluster-wide (lock-list on the etcd backend). */
  async holders(): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
    const all = await this.client.getAll().prefix(`${this.o.prefix}/leases/`).strings();
    return Object.entries(all).map(([key, v]) => ({ key, value: JSON.parse(v) as Record<string, unknown> }));
  }

  /** Only keys go: nothing on disk is touched. */
  async clear(resource: string, _lockspaces: string[]): Promise<void> {
    await this.client.delete().prefix(this.base(resource));
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    await this.lease?.revoke().catch(() => undefined);
    this.client.close();
  }
}
