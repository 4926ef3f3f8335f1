import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { ASYNC_JOB_MASKS, DomainJobs, type JobName } from './jobs.js';

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

  it("run() fails with libvirt's state change lock message when the holder outlasts the wait", async () => {
    const jobs = new DomainJobs();
    let release!: () => void;
    const long = jobs.run('d1', 'migration out', () => new Promise<void>((r) => (release = r)));
    await assert.rejects(
      jobs.run('d1', 'start', async () => 1, { waitMs: 20 }),
      (err: unknown) => {
        assert.ok(err instanceof FerryError);
        assert.equal(err.code, 'OPERATION_IN_PROGRESS');
        assert.equal(err.message, 'Timed out during operation: cannot acquire state change lock (held by migration out)');
        return true;
      },
    );
    release();
    await long;
  });

  it("run() lets an async job's allowed jobs through and still blocks the others", async () => {
    const jobs = new DomainJobs();
    let release!: () => void;
    const migrating = jobs.run('d1', 'migration out', () => new Promise<void>((r) => (release = r)), {
      async: { name: 'migration out', allowed: new Set(['query', 'abort']) },
    });
    while (jobs.current('d1')?.job !== 'migration out') await tick(1);
    assert.equal(await jobs.run('d1', 'query', async () => 'ok'), 'ok');
    await assert.rejects(
      jobs.run('d1', 'destroy', async () => 1, { waitMs: 10 }),
      /held by migration out/,
    );
    assert.equal(jobs.current('d1')?.async, true);
    release();
    await migrating;
    assert.equal(jobs.current('d1'), undefined);
  });

  it('run() releases the lock when the job throws', async () => {
    const jobs = new DomainJobs(50);
    await assert.rejects(
      jobs.run('d1', 'start', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await jobs.run('d1', 'suspend', async () => 2), 2);
  });

  it('an async job refuses a job outside its mask at once (no wait), with OPERATION_IN_PROGRESS naming the holder and its mask', async () => {
    const jobs = new DomainJobs(60_000);
    const release = await jobs.beginAsync('d1', 'migration out');
    for (const job of ['suspend', 'reboot', 'shutdown', 'start', 'undefine', 'attach-disk', 'setvcpus', 'managedsave'] as const) {
      await assert.rejects(
        jobs.run('d1', job, async () => 'ran'),
        (err: unknown) => {
          assert.ok(err instanceof FerryError);
          assert.equal(err.code, 'OPERATION_IN_PROGRESS');
          assert.equal(
            err.message,
            `Requested operation is not valid: cannot acquire state change lock (held by migration out): ${job} is not allowed while it runs ` +
              '(allowed: query, abort, destroy, setSpeed, setMaxDowntime, postcopy)',
          );
          assert.match(err.hint, /ferry domjobinfo <domain>.*ferry domjobabort <domain>/);
          return true;
        },
      );
    }
    await assert.rejects(jobs.beginAsync('d1', 'blockcopy'), /held by migration out\): blockcopy is not allowed/);
    assert.equal(jobs.current('d1')?.job, 'migration out', 'the refusals left the holder in place');
    release();
    assert.equal(await jobs.run('d1', 'suspend', async () => 'ran'), 'ran', 'free again once the async job ends');
  });

  it("the jobs in an async job's mask run beside it without taking the lock", async () => {
    const jobs = new DomainJobs(60_000);
    const release = await jobs.beginAsync('d1', 'migration out');
    for (const job of ['query', 'abort', 'destroy', 'setSpeed', 'setMaxDowntime', 'postcopy'] as const) {
      assert.equal(jobs.allows('d1', job), true, job);
      assert.equal(await jobs.run('d1', job, async () => job), job);
    }
    assert.equal(jobs.allows('d1', 'suspend'), false);
    assert.deepEqual(jobs.current('d1') && { job: jobs.current('d1')?.job, async: jobs.current('d1')?.async }, { job: 'migration out', async: true });
    release();
    assert.equal(jobs.current('d1'), undefined);
  });

  it('the masks: every async job allows query, abort and destroy; only an outgoing migration allows its tuning; none a mutating job', () => {
    const mutating: JobName[] = ['start', 'shutdown', 'reboot', 'reset', 'suspend', 'resume', 'undefine', 'define', 'attach-disk', 'setvcpus', 'modify'];
    for (const [name, mask] of Object.entries(ASYNC_JOB_MASKS)) {
      for (const job of ['query', 'abort', 'destroy'] as const) assert.ok(mask.has(job), `${name} allows ${job}`);
      for (const job of mutating) assert.equal(mask.has(job), false, `${name} refuses ${job}`);
      assert.equal(mask.has('setSpeed'), name === 'migration out', `${name} and migrate-setspeed`);
    }
    assert.ok(ASYNC_JOB_MASKS.blockcopy.has('blockjob'));
  });

  it('a sync job holding the domain still makes the next job wait for it, not fail at once', async () => {
    const jobs = new DomainJobs(60_000);
    let release!: () => void;
    const held = jobs.run('d1', 'start', () => new Promise<void>((r) => (release = r)));
    const waiting = jobs.run('d1', 'suspend', async () => 'ran');
    await tick(5);
    release();
    await held;
    assert.equal(await waiting, 'ran');
  });
});
