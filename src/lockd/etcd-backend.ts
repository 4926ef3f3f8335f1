import { Etcd3, type Lease as EtcdLease } from 'etcd3';
import type { Logger } from 'pino';
import type { Lease, LeaseOwner } from '../locking/lease.js';
import { type LockBackend, LockBusyError, type LockHandle } from './lock-backend.js';

/**
 * Leases in etcd, for clusters without a shared lockspace directory. Each
 * holder has one key per resource, attached to this lockd's etcd lease (TTL,
 * kept alive while lockd runs): when lockd (or its host) dies, etcd drops
 * its keys after the TTL. A per-resource mutex makes check-and-take atomic.
 */
export class EtcdBackend implements LockBackend {
  private readonly client: Etcd3;
  private lease: EtcdLease | undefined;

  constructor(private readonly o: { endpoints: string[]; prefix: string; ttlSeconds: number; hostId: string; log: Logger }) {
    this.client = new Etcd3({ hosts: o.endpoints, dialTimeout: 3000 });
  }

  private session(): EtcdLease {
    if (!this.lease) {
      this.lease = this.client.lease(this.o.ttlSeconds);
      this.lease.on('lost', (err) => {
        this.o.log.error({ err }, 'etcd lease lost: every lease this host held is gone');
        this.lease = undefined;
      });
    }
    return this.lease;
  }

  private base(resource: string): string {
    return `${this.o.prefix}/leases/${encodeURIComponent(resource)}/`;
  }

  async acquire(lease: Lease, owner: LeaseOwner): Promise<LockHandle> {
    const base = this.base(lease.resource);
    const key = `${base}${lease.mode}/${this.o.hostId}:${owner.uuid}`;
    const mutex = this.client.lock(`${this.o.prefix}/mutex/${encodeURIComponent(lease.resource)}`).ttl(this.o.ttlSeconds);
    await mutex.acquire();
    try {
      const holders = Object.keys(await this.client.getAll().prefix(base).strings());
      const others = holders.filter((k) => k !== key);
      const conflict = lease.mode === 'exclusive' ? others.length > 0 : others.some((k) => k.startsWith(`${base}exclusive/`));
      if (conflict) throw new LockBusyError(lease);
      await this.session().put(key).value(JSON.stringify({ host: this.o.hostId, owner, label: lease.label, since: Date.now() }));
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

  async clear(resource: string): Promise<void> {
    await this.client.delete().prefix(this.base(resource));
  }

  async close(): Promise<void> {
    await this.lease?.revoke().catch(() => undefined);
    this.client.close();
  }
}
