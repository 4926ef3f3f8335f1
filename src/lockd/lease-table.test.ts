import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Lease } from '../shared/lease.js';
import type { Liveness } from '../system/process-liveness.js';
import type { LockBackend, LockHandle } from './lock-backend.js';
import { LeaseTable } from './lease-table.js';

/** An in-memory backend: which resources are held. */
function memoryBackend(): LockBackend & { held: Set<string> } {
  const held = new Set<string>();
  return {
    held,
    acquire: async (lease: Lease): Promise<LockHandle> => {
      held.add(lease.resource);
      return { kind: 'etcd', key: lease.resource };
    },
    release: async (h: LockHandle) => void held.delete((h as { key: string }).key),
    isHeld: async (r: string) => held.has(r),
    clear: async (r: string) => void held.delete(r),
    close: async () => undefined,
  };
}

const lease: Lease = { resource: '/ls/a', label: 'a', mode: 'exclusive', disk: 'vda', path: '/img/a' };
const owner = { uuid: 'u1', name: 'vm1', pid: 4242 };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 40));

describe('LeaseTable', () => {
  it("keeps an owner's leases while its liveness is unknown (lockd out of descriptors), releases them once the kernel says it is dead", async () => {
    let now: Liveness = { state: 'alive', startTime: '100' };
    const backend = memoryBackend();
    const table = new LeaseTable(backend, { host: 'h', log: pino({ level: 'silent' }), watchMs: 10, liveness: () => now });
    try {
      await table.acquire(owner, [lease]);
      now = { state: 'unknown', error: '/proc/4242/stat: EMFILE' };
      await tick();
      assert.deepEqual(
        table.list().map((l) => l.resource),
        ['/ls/a'],
      );
      assert.ok(backend.held.has('/ls/a'));
      now = { state: 'dead', why: 'no such process' };
      await tick();
      assert.deepEqual(table.list(), []);
      assert.equal(backend.held.size, 0);
    } finally {
      await table.close();
    }
  });
});
