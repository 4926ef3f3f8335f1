import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadTranscript } from '../../test/fakes/qmp-transcript.js';
import { RecoveryHarness } from '../../test/fakes/recovery-harness.js';
import { askDestinationOutcome, rollbackSource } from './source-rollback.js';

/**
 * rollbackSource() and askDestinationOutcome() with a fake QEMU (scripted monitor, transcripts recorded
 * from QEMU 10.0) and a fake destination ferryd reached over real HTTP. Assertions are on outcomes: the
 * QMP commands QEMU got, the domain's state, what the destination was asked, the result.
 */
describe('rollbackSource()', () => {
  let h: RecoveryHarness;
  beforeEach(async () => {
    h = await RecoveryHarness.start();
    h.peer.on('POST', '/peer/v1/migrations/mig-1/abort', { body: {} });
  });
  afterEach(() => h.close());

  const rollback = async (vm: Parameters<typeof rollbackSource>[0]['vm'], o: { sourceWasRunning?: boolean; reacquire?: () => Promise<void> } = {}) =>
    rollbackSource({
      vm,
      peer: h.peers.client(h.peer.uri, 2000),
      id: 'mig-1',
      sourceWasRunning: o.sourceWasRunning ?? true,
      log: h.log,
      ...(o.reacquire ? { reacquire: o.reacquire } : {}),
    });

  it('cancels a migration still in flight, waits for cancelled, tells the destination, resumes the paused source', async () => {
    // the recorded cancel while active: active..., then (after migrate_cancel) cancelling, cancelled
    const transcript = loadTranscript('migrate-source-cancelled');
    const { qemu, vm } = await h.domain({ qemu: 'paused', transcript, status: { state: 'paused', reason: 'migrating' } });
    assert.equal(await rollback(vm!), true);
    const cmds = qemu!.server.commands();
    assert.equal(cmds[0], 'query-migrate');
    assert.equal(cmds[1], 'migrate_cancel');
    assert.deepEqual(cmds.slice(-2), ['query-status', 'cont']);
    assert.deepEqual(h.peer.calls(), ['POST /peer/v1/migrations/mig-1/abort']);
    assert.equal(qemu!.server.runstate, 'running');
    await waitFor(() => vm!.status.state === 'running');
    assert.deepEqual(vm!.status, { state: 'running', reason: 'migration canceled' });
  });

  it("sends no migrate_cancel when QEMU's migration already failed (recorded: destination killed); the running source stays running", async () => {
    const { qemu, vm } = await h.domain({ qemu: 'running', transcript: loadTranscript('migrate-source-failed') });
    qemu!.server.override('query-migrate', { return: { status: 'failed', 'error-desc': 'Unable to write to socket: Broken pipe' } });
    assert.equal(await rollback(vm!), true);
    assert.deepEqual(qemu!.server.commands(), ['query-migrate', 'query-status']);
    assert.deepEqual(vm!.status, { state: 'running', reason: 'migration canceled' });
  });

  it('answers true (whole) when the source QEMU died during the migration: there is nothing left to resume', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' } });
    await qemu!.crash();
    assert.equal(await rollback(vm!), true);
    assert.deepEqual(h.peer.calls(), ['POST /peer/v1/migrations/mig-1/abort'], 'the destination is still told to discard its copy');
  });

  it('leaves a source that was paused before the migration paused (no cont)', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' } });
    qemu!.server.override('query-migrate', { return: { status: 'cancelled' } });
    assert.equal(await rollback(vm!, { sourceWasRunning: false }), true);
    assert.equal(qemu!.server.count('cont'), 0);
    assert.deepEqual(vm!.status, { state: 'paused', reason: 'user' });
  });

  it('keeps the source paused and answers false when the disk leases cannot be taken back', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' } });
    qemu!.server.override('query-migrate', { return: { status: 'cancelled' } });
    assert.equal(
      await rollback(vm!, {
        reacquire: async () => {
          throw new Error('lease held by another host');
        },
      }),
      false,
    );
    assert.equal(qemu!.server.count('cont'), 0);
    assert.equal(qemu!.server.runstate, 'paused');
  });

  it('resumes the source even when the destination cannot be told (it cleans up when it next asks)', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' } });
    qemu!.server.override('query-migrate', { return: { status: 'cancelled' } });
    await h.peer.close();
    assert.equal(await rollback(vm!), true);
    assert.equal(qemu!.server.count('cont'), 1);
    assert.deepEqual(h.peer.calls(), []);
  });

  it('answers false when QEMU refuses cont', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' } });
    qemu!.server.override('query-migrate', { return: { status: 'cancelled' } }).override('cont', { error: 'Resetting the Virtual Machine is required' });
    assert.equal(await rollback(vm!), false);
    assert.equal(qemu!.server.runstate, 'paused');
  });

  it('still resumes when the monitor cannot say the migration status (query-migrate fails)', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' } });
    qemu!.server.override('query-migrate', { error: 'scripted failure' });
    assert.equal(await rollback(vm!), true);
    assert.deepEqual(qemu!.server.commands(), ['query-migrate', 'query-status', 'cont']);
  });
});

describe('askDestinationOutcome()', () => {
  let h: RecoveryHarness;
  beforeEach(async () => {
    h = await RecoveryHarness.start();
  });
  afterEach(() => h.close());
  const ask = (maxMs = 2000) => askDestinationOutcome(h.peers.client(h.peer.uri, 2000), 'mig-1', { maxMs, log: h.log });

  it('Succeeded there: resumed', async () => {
    h.peer.phase('mig-1', 'Succeeded');
    assert.equal(await ask(), 'resumed');
  });

  it('Failed or Cancelled there: not resumed', async () => {
    h.peer.phase('mig-1', 'Cancelled');
    assert.equal(await ask(), 'not-resumed');
  });

  it('unknown there (MIG_NOT_FOUND): not resumed', async () => {
    assert.equal(await ask(), 'not-resumed');
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1']);
  });

  it('still in Prepare there: aborts it, then not resumed', async () => {
    h.peer.phase('mig-1', 'Prepare').on('POST', '/peer/v1/migrations/mig-1/abort', { body: {} });
    assert.equal(await ask(), 'not-resumed');
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1', 'POST /peer/v1/migrations/mig-1/abort']);
  });

  it('unreachable past the deadline: unknown', async () => {
    await h.peer.close();
    assert.equal(await ask(0), 'unknown');
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}
