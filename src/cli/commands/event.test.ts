import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DomainEvent } from '../../shared/domain-events.js';
import type { JobInfo } from '../../shared/job-info.js';
import { eventLine } from './event.js';

const base = { uuid: 'u1', name: 'web', at: 0 };
const progress = (iteration: number): DomainEvent => ({ type: 'migration.progress', id: 'm1', ...base, job: { iteration } as JobInfo });

describe('eventLine()', () => {
  it('prints lifecycle events as virsh does, whatever --all says', () => {
    const seen = new Map<string, number>();
    assert.equal(
      eventLine({ type: 'domain.lifecycle', ...base, state: 'running', reason: 'booted' }, false, seen),
      "event 'lifecycle' for domain 'web': Started Booted",
    );
    assert.equal(
      eventLine({ type: 'domain.lifecycle', ...base, state: 'paused', reason: 'lock failure' }, false, seen),
      "event 'lifecycle' for domain 'web': Suspended LockFailure",
    );
    assert.equal(eventLine({ type: 'domain.undefined', ...base }, false, seen), "event 'lifecycle' for domain 'web': Undefined Removed");
  });

  it("hides the other events without --all (a migration's progress is not an undefine)", () => {
    const seen = new Map<string, number>();
    assert.equal(eventLine(progress(1), false, seen), undefined);
    assert.equal(eventLine({ type: 'migration.phase', id: 'm1', ...base, side: 'source', from: 'Begin', to: 'Perform' }, false, seen), undefined);
    assert.equal(eventLine({ type: 'domain.lockfailure', ...base, resource: '/l/x', action: 'pause' }, false, seen), undefined);
  });

  it('with --all: lock failures, phases, each migration iteration once, a block copy once ready', () => {
    const seen = new Map<string, number>();
    assert.equal(
      eventLine({ type: 'domain.lockfailure', ...base, resource: '/l/x', action: 'pause' }, true, seen),
      "event 'lock-failure' for domain 'web': resource '/l/x', action pause",
    );
    assert.equal(
      eventLine({ type: 'migration.phase', id: 'm1', ...base, side: 'source', from: 'Begin', to: 'Perform' }, true, seen),
      "event 'migration-phase' for domain 'web': source Begin -> Perform",
    );
    assert.deepEqual([1, 1, 2, 2, 3].map((i) => eventLine(progress(i), true, seen)).filter(Boolean), [
      "event 'migration-iteration' for domain 'web': iteration: '1'",
      "event 'migration-iteration' for domain 'web': iteration: '2'",
      "event 'migration-iteration' for domain 'web': iteration: '3'",
    ]);
    const copy = (ready: boolean): DomainEvent => ({ type: 'blockjob.progress', ...base, disk: 'vda', kind: 'copy', offset: 1, len: 2, ready });
    assert.deepEqual([copy(false), copy(true), copy(true)].map((e) => eventLine(e, true, seen)).filter(Boolean), [
      "event 'block-job' for domain 'web': Block Copy for vda ready",
    ]);
  });

  it('--event NAME shows only that type, watchdogs included (virsh event --event watchdog)', () => {
    const seen = new Map<string, number>();
    const fired: DomainEvent = { type: 'domain.watchdog', ...base, action: 'pause' };
    assert.equal(eventLine(fired, false, seen), undefined);
    assert.equal(eventLine(fired, true, seen), "event 'watchdog' for domain 'web': pause");
    assert.equal(eventLine(fired, false, seen, 'watchdog'), "event 'watchdog' for domain 'web': pause");
    assert.equal(eventLine({ type: 'domain.lifecycle', ...base, state: 'paused', reason: 'watchdog' }, false, seen, 'watchdog'), undefined);
    assert.equal(
      eventLine({ type: 'domain.lifecycle', ...base, state: 'paused', reason: 'watchdog' }, false, seen, 'lifecycle'),
      "event 'lifecycle' for domain 'web': Suspended Watchdog",
    );
  });
});
