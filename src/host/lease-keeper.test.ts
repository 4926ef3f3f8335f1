import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { HostService } from './host-service.js';
import type { LockFailureAction } from '../vm/definition.js';
import type { HeldLease, Lease, LeaseOwner } from '../shared/lease.js';
import { LeaseKeeper } from './lease-keeper.js';

/** A host with running domains whose leases a fake lockd holds (or another holder has). */
function fixture(o: {
  domains: Array<{ uuid: string; name: string; onLockFailure?: LockFailureAction }>;
  heldElsewhere?: string[];
  busy?: string[];
  failWith?: 'LOCK_HELD' | 'LOCK_BACKEND_FAILED' | 'LOCKD_UNAVAILABLE';
}) {
  const held: HeldLease[] = [];
  const calls: string[] = [];
  const lease = (uuid: string): Lease => ({ resource: `/locks/${uuid}`, path: `/img/${uuid}`, mode: 'exclusive', label: 'vda' }) as Lease;
  const vms = new Map(
    o.domains.map((d) => [
      d.uuid,
      {
        uuid: d.uuid,
        name: d.name,
        pid: 4242,
        def: { uuid: d.uuid, name: d.name, ...(d.onLockFailure ? { onLockFailure: d.onLockFailure } : {}) },
        destroy: async (reason: string, restart: boolean) => void calls.push(`destroy ${d.name} ${reason} restart=${restart}`),
      },
    ]),
  );
  const host = {
    list: () => o.domains.map((d) => ({ uuid: d.uuid, name: d.name })),
    runningDomain: (uuid: string) => vms.get(uuid),
    locks: {
      leases: async (def: { uuid: string }) => [lease(def.uuid)],
      acquireLeases: async (owner: LeaseOwner, leases: Lease[]) => {
        for (const l of leases) {
          if (o.heldElsewhere?.includes(owner.uuid))
            throw new FerryError(o.failWith ?? 'LOCK_HELD', `cannot have '${l.resource}'`, { details: { resource: l.resource } });
        }
        calls.push(`acquire ${owner.name} pid=${owner.pid} ${leases.map((l) => l.resource).join(',')}`);
        for (const l of leases) held.push({ ...l, owner, host: 'h', since: 0 } as HeldLease);
      },
    },
    publish: (e: { type: string; name: string; action?: string }) => void calls.push(`event ${e.type} ${e.name} ${e.action ?? ''}`.trim()),
    pauseForLockFailure: async (uuid: string) => void calls.push(`pause ${vms.get(uuid)?.name}`),
  } as unknown as HostService;
  const lockd = {
    watch: () => () => undefined,
    onRestart: () => undefined,
    ensureRunning: async () => undefined,
    list: async () => held,
  };
  const keeper = new LeaseKeeper({ host, lockd, busy: (uuid) => o.busy?.includes(uuid) ?? false, log: pino({ level: 'silent' }) });
  return { keeper, calls, held };
}

describe('LeaseKeeper', () => {
  it('takes back only the leases running domains miss, for their QEMU, and skips domains a migration owns', async () => {
    const f = fixture({
      domains: [
        { uuid: 'u1', name: 'web' },
        { uuid: 'u2', name: 'db' },
        { uuid: 'u3', name: 'moving' },
      ],
      busy: ['u3'],
    });
    const first = await f.keeper.repair();
    assert.deepEqual(
      first.map((r) => [r.domain, r.reacquired]),
      [
        ['web', ['/locks/u1']],
        ['db', ['/locks/u2']],
      ],
    );
    assert.deepEqual(f.calls, ['acquire web pid=4242 /locks/u1', 'acquire db pid=4242 /locks/u2']);
    assert.deepEqual(await f.keeper.repair(), [], 'nothing is missing the second time');
  });

  it('a lease held elsewhere: pause by default, and every on_lockfailure action as libvirt names them', async () => {
    const f = fixture({
      domains: [
        { uuid: 'u1', name: 'dflt' },
        { uuid: 'u2', name: 'off', onLockFailure: 'poweroff' },
        { uuid: 'u3', name: 'again', onLockFailure: 'restart' },
        { uuid: 'u4', name: 'brave', onLockFailure: 'ignore' },
      ],
      heldElsewhere: ['u1', 'u2', 'u3', 'u4'],
    });
    const repairs = await f.keeper.repair();
    assert.deepEqual(
      repairs.map((r) => [r.domain, r.lockFailure?.action, r.lockFailure?.resource]),
      [
        ['dflt', 'pause', '/locks/u1'],
        ['off', 'poweroff', '/locks/u2'],
        ['again', 'restart', '/locks/u3'],
        ['brave', 'ignore', '/locks/u4'],
      ],
    );
    assert.deepEqual(f.calls, [
      'event domain.lockfailure dflt pause',
      'pause dflt',
      'event domain.lockfailure off poweroff',
      'destroy off destroyed restart=false',
      'event domain.lockfailure again restart',
      'destroy again destroyed restart=true',
      'event domain.lockfailure brave ignore',
    ]);
  });

  it('a lease lockd cannot check (etcd unreachable) is a lock failure too; lockd itself unreachable is not', async () => {
    const f = fixture({ domains: [{ uuid: 'u1', name: 'web' }], heldElsewhere: ['u1'], failWith: 'LOCK_BACKEND_FAILED' });
    assert.deepEqual(
      (await f.keeper.repair()).map((r) => r.lockFailure?.action),
      ['pause'],
    );
    const g = fixture({ domains: [{ uuid: 'u1', name: 'web' }], heldElsewhere: ['u1'], failWith: 'LOCKD_UNAVAILABLE' });
    assert.deepEqual(await g.keeper.repair(), []);
    assert.deepEqual(g.calls, [], 'nothing paused: ferryd keeps trying to start lockd');
  });

  it('repairs run one after another', async () => {
    const f = fixture({ domains: [{ uuid: 'u1', name: 'web' }] });
    const [a, b] = await Promise.all([f.keeper.repair(), f.keeper.repair()]);
    assert.equal(a.length + b.length, 1, "the second repair saw the first one's lease");
    assert.equal(f.held.length, 1);
  });
});
