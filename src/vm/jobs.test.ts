import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { DomainJobs } from './jobs.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('DomainJobs', () => {
  it('run() serializes jobs on one domain and lets other domains run', async () => {
    const jobs = new DomainJobs(1000);
    const order: string[] = [];
    const a = jobs.run('d1', 'start', async () => {
      order.push('start+');
      await tick(30);
      order.push('start-');
    });
    const b = jobs.run('d1', 'suspend', async () => {
      order.push('suspend');
    });
    const c = jobs.run('d2', 'start', async () => {
      order.push('other');
    });
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['start+', 'other', 'start-', 'suspend']);
  });

  it('run() fails with libvirt\'s state change lock message when the holder outlasts the wait', async () => {
    const jobs = new DomainJobs();
    let release!: () => void;
    const long = jobs.run('d1', 'migrate', () => new Promise<void>((r) => (release = r)));
    await assert.rejects(jobs.run('d1', 'start', async () => 1, { waitMs: 20 }), (err: unknown) => {
      assert.ok(err instanceof FerryError);
      assert.equal(err.code, 'OPERATION_IN_PROGRESS');
      assert.equal(err.message, 'Timed out during operation: cannot acquire state change lock (held by migrate)');
      return true;
    });
    release();
    await long;
  });

  it('run() lets an async job\'s allowed jobs through and still blocks the others', async () => {
    const jobs = new DomainJobs();
    let release!: () => void;
    const migrating = jobs.run('d1', 'migrate', () => new Promise<void>((r) => (release = r)), {
      async: { name: 'migrate', allowed: new Set(['query', 'abort']) },
    });
    while (jobs.current('d1')?.job !== 'migrate') await tick(1);
    assert.equal(await jobs.run('d1', 'query', async () => 'ok'), 'ok');
    await assert.rejects(jobs.run('d1', 'destroy', async () => 1, { waitMs: 10 }), /held by migrate/);
    assert.equal(jobs.current('d1')?.async, true);
    release();
    await migrating;
    assert.equal(jobs.current('d1'), undefined);
  });

  it('run() releases the lock when the job throws', async () => {
    const jobs = new DomainJobs(50);
    await assert.rejects(jobs.run('d1', 'a', async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await jobs.run('d1', 'b', async () => 2), 2);
  });
});
