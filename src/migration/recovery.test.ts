import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RecoveryHarness, UUID } from '../../test/fakes/recovery-harness.js';

/**
 * MigrationRecovery's decision table (src/migration/recovery.ts), one test per branch, with a fake QEMU
 * per domain (scripted monitor over a real unix socket, a real child process) and a fake peer ferryd over
 * real HTTP; stores, host, destination and recovery are ferry's own (test/fakes/recovery-harness.ts).
 * Each test asserts outcomes: the record's phases and error, the cleanup flag, the VM's run state or
 * end, the QMP commands QEMU got and what the peer was asked.
 *
 * Source side (recoverSource):
 *   S1  Begin/Prepare, VM running                → Failed ("ferryd restarted during Begin"), rolled back: peer told to abort, VM runs on
 *   S2  Begin/Prepare, VM gone (shut off)        → Failed, cleanup done, nobody asked
 *   S3  Failed/Cancelled, cleanup pending        → phase and error kept, rollback (paused source resumed), cleanup done
 *   S4  Confirm/Succeeded, VM still there        → VM destroyed (invariant 4), Succeeded; --undefinesource honoured
 *   S5  Succeeded, VM gone, cleanup pending      → cleanup done, nothing else
 *   S6  Perform, QEMU migration not completed    → Failed ("... (QEMU migration active)"), migrate_cancel, source resumed
 *   S7  Perform, QEMU completed                  → Finish, then as the destination says (here Succeeded: Confirm, Succeeded, VM destroyed)
 *   S8  Perform, VM gone                         → Finish, the destination decides (Succeeded)
 *   S9  non-final, VM gone but QEMU unreachable  → nothing changes; retried later (recovery still resolves the domain)
 *   S10 Perform/Finish, peer URI unusable        → Failed ("destination URI unusable"), source resumed
 *   S11 Finish, destination: MIG_NOT_FOUND       → Failed ("the destination does not know the migration"), resumed
 *   S12 Finish, destination unreachable          → stays Finish, VM stays paused, retried later
 *   S13 Finish, destination Succeeded            → Confirm, Succeeded, VM destroyed, no finish call
 *   S14 Finish, destination Failed/Cancelled     → Failed ("the destination discarded the domain"), resumed
 *   S15 Finish, destination incoming completed / in Finish / source post-copy → POST finish (resume, postcopy), then Succeeded
 *   S16 finish call fails, destination then says Succeeded  → Succeeded
 *   S17 finish call fails, destination says not resumed, VM here → Failed (the finish error), resumed
 *   S18 finish call fails, destination says not resumed, VM gone → stays Finish, retried later
 *   S19 Finish, destination has not received everything (incoming active) → Failed ("... (active)"), resumed
 *   S20 a phase recovery does not know           → untouched
 *   (finish call fails and the destination's outcome stays unknown: retried later after askDestinationOutcome's
 *    fixed 10 s; not covered here, the 'unknown' answer itself is tested in source-rollback.test.ts)
 * Destination side (recoverDestination):
 *   D1  Succeeded/Failed/Cancelled, cleanup pending → cleanup done, nobody asked
 *   D2  VM gone but QEMU unreachable             → nothing changes; retried later
 *   D3  VM gone (not offline)                    → Failed ("the incoming QEMU is gone"), cleanup done
 *   D4  Finish, incoming VM running              → Succeeded, VM kept, nobody asked
 *   D5  source: MIG_NOT_FOUND                    → discarded: Cancelled, incoming QEMU ended, cleanup done
 *   D6  source unreachable, within the orphan timeout → kept, retried later
 *   D7  source unreachable past the orphan timeout → discarded ("the source stayed silent")
 *   D8  source Failed/Cancelled/Begin/Prepare    → discarded ("the source's migration is Failed")
 *   D9  source Perform/Finish/Confirm            → kept, asked again later
 *   D10 discard, but the incoming VM runs (its vCPUs ran: post-copy) → kept for the operator
 *   D11 discard, but the incoming migration is postcopy-active → kept
 *   D12 Finish, incoming VM paused (never ran here), source Cancelled → Failed, the paused copy destroyed
 *   D13 offline, no VM, source Cancelled         → Cancelled, the disk copies created here removed
 * The watchdog of an incoming migration this ferryd prepared (watchIncoming), the same table while it runs, except:
 *   W1  source Begin/Prepare (it waits for the reply) → kept, within the orphan timeout; source Failed → discarded
 *   W2  the record left Prepare (Finish asked)    → the watchdog stops
 */
describe('MigrationRecovery: source records', () => {
  let h: RecoveryHarness;
  beforeEach(async () => {
    h = await RecoveryHarness.start();
    h.peer.on('POST', '/peer/v1/migrations/mig-1/abort', { body: {} });
  });
  afterEach(() => h.close());
  const paused = { qemu: 'paused' as const, status: { state: 'paused', reason: 'migrating' } as const };

  it('S1 Begin with the VM running: Failed, the destination told to abort, the VM runs on', async () => {
    const { qemu, vm } = await h.domain({ qemu: 'running' });
    h.record({ side: 'source', phase: 'Begin', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Begin', 'Failed']);
    assert.equal(h.get('source').error, 'ferryd restarted during Begin');
    assert.equal(h.get('source').cleanupDone, true);
    assert.deepEqual(h.peer.calls(), ['POST /peer/v1/migrations/mig-1/abort']);
    assert.deepEqual(qemu!.server.commands(), ['query-migrate', 'query-status']);
    assert.equal(vm!.status.state, 'running');
  });

  it('S2 Prepare with the VM shut off: Failed, cleanup done, nobody asked', async () => {
    await h.domain();
    h.record({ side: 'source', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Prepare', 'Failed']);
    assert.equal(h.get('source').error, 'ferryd restarted during Prepare');
    assert.equal(h.get('source').cleanupDone, true);
    assert.deepEqual(h.peer.calls(), []);
  });

  it('S3 Cancelled with its cleanup pending: phase and error kept, the paused source resumed', async () => {
    const { qemu, vm } = await h.domain(paused);
    h.record({ side: 'source', phase: 'Cancelled', error: 'canceled by client', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Cancelled']);
    assert.equal(h.get('source').error, 'canceled by client');
    assert.equal(h.get('source').cleanupDone, true);
    assert.equal(qemu!.server.count('cont'), 1);
    assert.equal(qemu!.server.runstate, 'running');
    assert.equal(vm!.status.state, 'running');
  });

  it('S4 Confirm with the source VM still there: destroyed (never resumed), Succeeded, --undefinesource applied', async () => {
    const { qemu } = await h.domain(paused);
    h.record({ side: 'source', phase: 'Confirm', options: { undefineSource: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Confirm', 'Succeeded']);
    assert.equal(h.get('source').cleanupDone, true);
    assert.deepEqual(qemu!.server.commands(), ['quit']);
    assert.equal(qemu!.process.exited, true);
    assert.equal(h.host.runningDomain(UUID), undefined);
    assert.equal(h.domains.get(UUID), undefined);
  });

  it('S5 Succeeded with the VM gone and cleanup pending: cleanup done, nothing else', async () => {
    await h.domain();
    h.record({ side: 'source', phase: 'Succeeded' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Succeeded']);
    assert.equal(h.get('source').cleanupDone, true);
    assert.deepEqual(h.peer.calls(), []);
    assert.ok(h.domains.get(UUID));
  });

  it("S6 Perform with QEMU's migration still active: Failed, migrate_cancel, the source resumed", async () => {
    const { qemu, vm } = await h.domain(paused);
    qemu!.server
      .override('query-migrate', { nth: 1, return: { status: 'active' } })
      .override('query-migrate', { nth: 2, return: { status: 'active' } })
      .override('query-migrate', { return: { status: 'cancelled' } })
      .override('migrate_cancel', { events: [{ event: 'MIGRATION', data: { status: 'cancelling' } }] });
    h.record({ side: 'source', phase: 'Perform', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Perform', 'Failed']);
    assert.equal(h.get('source').error, 'ferryd restarted during Perform (QEMU migration active)');
    assert.deepEqual(qemu!.server.commands(), ['query-migrate', 'query-migrate', 'migrate_cancel', 'query-migrate', 'query-status', 'cont']);
    assert.deepEqual(h.peer.calls(), ['POST /peer/v1/migrations/mig-1/abort']);
    await until(() => vm!.status.state === 'running');
  });

  it("S7 Perform with QEMU's migration completed and the destination Succeeded: Finish, Confirm, Succeeded, source destroyed", async () => {
    const { qemu } = await h.domain({ ...paused, qemu: 'postmigrate' });
    qemu!.server.override('query-migrate', { return: { status: 'completed' } });
    h.peer.phase('mig-1', 'Succeeded');
    h.record({ side: 'source', phase: 'Perform', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Perform', 'Finish', 'Confirm', 'Succeeded']);
    assert.deepEqual(qemu!.server.commands(), ['query-migrate', 'quit']);
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1']);
    assert.equal(qemu!.process.exited, true);
  });

  it('S8 Perform with the source VM gone: the destination decides (Succeeded)', async () => {
    await h.domain();
    h.peer.phase('mig-1', 'Succeeded');
    h.record({ side: 'source', phase: 'Perform' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Perform', 'Finish', 'Confirm', 'Succeeded']);
    assert.equal(h.get('source').cleanupDone, true);
  });

  it('S9 Perform with QEMU running but unreachable: nothing changes, retried later', async () => {
    await h.domain({ qemu: 'unreachable' });
    h.record({ side: 'source', phase: 'Perform' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Perform']);
    assert.equal(h.get('source').cleanupDone, false);
    assert.deepEqual(h.peer.calls(), []);
    assert.equal(h.service.recovery.resolves(UUID), true);
  });

  it('S10 Finish with an unusable destination URI: Failed, the source resumed', async () => {
    const { qemu } = await h.domain(paused);
    h.record({ side: 'source', phase: 'Finish', peer: 'bogus://', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Failed']);
    assert.equal(h.get('source').error, 'destination URI unusable');
    assert.equal(qemu!.server.count('cont'), 1);
  });

  it('S11 Finish, the destination does not know the migration: Failed, the source resumed', async () => {
    const { qemu } = await h.domain(paused);
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Failed']);
    assert.equal(h.get('source').error, 'the destination does not know the migration');
    assert.equal(qemu!.server.count('cont'), 1);
    assert.equal(qemu!.server.runstate, 'running');
  });

  it('S12 Finish, the destination unreachable: stays Finish, the VM stays paused, retried later', async () => {
    const { qemu } = await h.domain(paused);
    await h.peer.close();
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish']);
    assert.equal(h.get('source').cleanupDone, false);
    assert.equal(qemu!.server.count('cont'), 0);
    assert.equal(qemu!.server.runstate, 'paused');
    assert.equal(h.service.recovery.resolves(UUID), true);
  });

  it('S13 Finish, the destination Succeeded: Confirm, Succeeded, the source destroyed, no finish call', async () => {
    const { qemu } = await h.domain(paused);
    h.peer.phase('mig-1', 'Succeeded');
    h.record({ side: 'source', phase: 'Finish' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Confirm', 'Succeeded']);
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1']);
    assert.equal(qemu!.server.count('cont'), 0);
    assert.equal(qemu!.process.exited, true);
  });

  it('S14 Finish, the destination discarded the domain: Failed, the source resumed', async () => {
    const { qemu } = await h.domain(paused);
    h.peer.phase('mig-1', 'Cancelled');
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Failed']);
    assert.equal(h.get('source').error, 'the destination discarded the domain');
    assert.equal(qemu!.server.count('cont'), 1);
  });

  it('S15 Finish, the destination received everything: asked to finish (resume), then Succeeded', async () => {
    const { qemu } = await h.domain({ ...paused, qemu: 'postmigrate' });
    qemu!.server.override('query-migrate', { return: { status: 'completed' } });
    h.peer.phase('mig-1', 'Prepare', { incoming: 'completed' }).on('POST', '/peer/v1/migrations/mig-1/finish', { body: { state: 'running', domainId: 1 } });
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Confirm', 'Succeeded']);
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1', 'POST /peer/v1/migrations/mig-1/finish']);
    assert.deepEqual(h.peer.requests[1]?.body, { resume: true, persistentXml: null, postcopy: false, leases: [] });
    assert.equal(qemu!.process.exited, true);
  });

  it('S15 (post-copy) Finish with the source QEMU in post-copy: finish asked with postcopy, Succeeded once QEMU sent the last pages', async () => {
    const { qemu } = await h.domain({ ...paused, qemu: 'postmigrate' });
    qemu!.server.override('query-migrate', { return: { status: 'postcopy-active' } });
    h.peer
      .phase('mig-1', 'Prepare', { incoming: 'postcopy-active' })
      .on('POST', '/peer/v1/migrations/mig-1/finish', { body: { state: 'running', domainId: 1 } });
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true }, options: { suspend: true } });
    await h.recoverAll();
    // The destination's VM still needs pages only this QEMU has: it is not stopped yet.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(h.phases('source'), ['Finish']);
    qemu!.server.override('query-migrate', { return: { status: 'completed' } });
    for (let i = 0; i < 50 && h.phases('source').at(-1) !== 'Succeeded'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(h.phases('source'), ['Finish', 'Confirm', 'Succeeded']);
    assert.deepEqual(h.peer.requests[1]?.body, { resume: false, persistentXml: null, postcopy: true, leases: [] });
  });

  it('S15 (post-copy) the destination already runs it (Succeeded) while the source QEMU still sends: Confirm only once QEMU completed', async () => {
    const { qemu } = await h.domain({ ...paused, qemu: 'postmigrate' });
    qemu!.server.override('query-migrate', { return: { status: 'postcopy-active' } });
    h.peer.phase('mig-1', 'Succeeded');
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(h.phases('source'), ['Finish']);
    qemu!.server.override('query-migrate', { return: { status: 'completed' } });
    for (let i = 0; i < 50 && h.phases('source').at(-1) !== 'Succeeded'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(h.phases('source'), ['Finish', 'Confirm', 'Succeeded']);
  });

  it('S16 the finish call fails, then the destination says Succeeded: Succeeded', async () => {
    await h.domain(paused);
    let gets = 0;
    h.peer
      .on('GET', '/peer/v1/migrations/mig-1', () => ({ body: { phase: ++gets === 1 ? 'Finish' : 'Succeeded', incoming: 'completed' } }))
      .on('POST', '/peer/v1/migrations/mig-1/finish', { error: { code: 'MIG_FAILED', message: 'scripted finish failure' } });
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Confirm', 'Succeeded']);
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1', 'POST /peer/v1/migrations/mig-1/finish', 'GET /peer/v1/migrations/mig-1']);
  });

  it('S17 the finish call fails and the destination did not resume: Failed with the finish error, the source resumed', async () => {
    const { qemu } = await h.domain(paused);
    let gets = 0;
    h.peer
      .on('GET', '/peer/v1/migrations/mig-1', () => ({ body: { phase: ++gets === 1 ? 'Finish' : 'Failed', incoming: 'completed' } }))
      .on('POST', '/peer/v1/migrations/mig-1/finish', { error: { code: 'MIG_FAILED', message: 'scripted finish failure' } });
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Failed']);
    assert.equal(h.get('source').error, 'scripted finish failure');
    assert.equal(qemu!.server.count('cont'), 1);
  });

  it('S18 the finish call fails, the destination did not resume, the source VM is gone: stays Finish, retried later', async () => {
    await h.domain();
    let gets = 0;
    h.peer
      .on('GET', '/peer/v1/migrations/mig-1', () => ({ body: { phase: ++gets === 1 ? 'Finish' : 'Failed', incoming: 'completed' } }))
      .on('POST', '/peer/v1/migrations/mig-1/finish', { error: { code: 'MIG_FAILED', message: 'scripted finish failure' } });
    h.record({ side: 'source', phase: 'Finish' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish']);
    assert.equal(h.get('source').cleanupDone, false);
    assert.equal(h.service.recovery.resolves(UUID), true);
  });

  it('S19 Finish, the destination has not received the whole domain: Failed, the source resumed', async () => {
    const { qemu } = await h.domain(paused);
    h.peer.phase('mig-1', 'Prepare', { incoming: 'active' });
    h.record({ side: 'source', phase: 'Finish', data: { sourceWasRunning: true } });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Finish', 'Failed']);
    assert.equal(h.get('source').error, 'the destination had not received the whole domain (active)');
    assert.equal(qemu!.server.count('cont'), 1);
  });

  it('S20 a phase recovery does not know: untouched', async () => {
    const { qemu } = await h.domain(paused);
    h.record({ side: 'source', phase: 'Unheard' });
    await h.recoverAll();
    assert.deepEqual(h.phases('source'), ['Unheard']);
    assert.equal(h.get('source').cleanupDone, false);
    assert.deepEqual(qemu!.server.commands(), []);
    assert.deepEqual(h.peer.calls(), []);
  });
});

describe('MigrationRecovery: destination records', () => {
  let h: RecoveryHarness;
  beforeEach(async () => {
    h = await RecoveryHarness.start();
  });
  afterEach(() => h.close());
  const incoming = { qemu: 'paused' as const, status: { state: 'paused', reason: 'migrating' } as const, persistent: false };

  it('D1 Failed with its cleanup pending: cleanup done, nobody asked', async () => {
    await h.domain();
    h.record({ side: 'destination', phase: 'Failed' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Failed']);
    assert.equal(h.get('destination').cleanupDone, true);
    assert.deepEqual(h.peer.calls(), []);
  });

  it('D2 the incoming QEMU runs but is unreachable: nothing changes, retried later', async () => {
    await h.domain({ qemu: 'unreachable', persistent: false });
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare']);
    assert.deepEqual(h.peer.calls(), []);
    assert.equal(h.service.recovery.resolves(UUID), true);
  });

  it('D3 the incoming QEMU is gone: Failed, cleanup done', async () => {
    await h.domain({ persistent: false });
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare', 'Failed']);
    assert.equal(h.get('destination').error, 'the incoming QEMU is gone');
    assert.equal(h.get('destination').cleanupDone, true);
    assert.deepEqual(h.peer.calls(), []);
  });

  it('D4 Finish with the incoming VM running: Succeeded, the VM kept, nobody asked', async () => {
    const { qemu } = await h.domain({ ...incoming, qemu: 'running', status: { state: 'running', reason: 'migrated' } });
    h.record({ side: 'destination', phase: 'Finish' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Finish', 'Succeeded']);
    assert.equal(h.get('destination').cleanupDone, true);
    assert.deepEqual(qemu!.server.commands(), ['query-status']);
    assert.equal(qemu!.process.exited, false);
    assert.deepEqual(h.peer.calls(), []);
  });

  it('D5 the source does not know the migration: the incoming VM discarded (Cancelled)', async () => {
    const { qemu } = await h.domain(incoming);
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare', 'Cancelled']);
    assert.equal(h.get('destination').error, 'the source does not know the migration');
    assert.equal(h.get('destination').cleanupDone, true);
    assert.deepEqual(h.peer.calls(), ['GET /peer/v1/migrations/mig-1']);
    assert.equal(qemu!.server.count('quit'), 1);
    assert.equal(qemu!.process.exited, true);
  });

  it('D6 the source silent, within the orphan timeout: the incoming VM kept, retried later', async () => {
    const { qemu } = await h.domain(incoming);
    await h.peer.close();
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare']);
    assert.equal(qemu!.process.exited, false);
    assert.equal(h.service.recovery.resolves(UUID), true);
  });

  it("D8 the source's migration Failed: the incoming VM discarded", async () => {
    const { qemu } = await h.domain(incoming);
    h.peer.phase('mig-1', 'Failed');
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare', 'Cancelled']);
    assert.equal(h.get('destination').error, "the source's migration is Failed");
    assert.equal(qemu!.process.exited, true);
  });

  it('D9 the source still in Perform: the incoming VM kept, asked again later', async () => {
    const { qemu } = await h.domain(incoming);
    h.peer.phase('mig-1', 'Perform');
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare']);
    assert.equal(qemu!.process.exited, false);
    assert.equal(h.service.recovery.resolves(UUID), true);
  });

  it('D10 the source Failed but the incoming VM runs (post-copy resumed it): kept for the operator', async () => {
    const { qemu } = await h.domain({ ...incoming, qemu: 'running', status: { state: 'running', reason: 'post-copy' } });
    h.peer.phase('mig-1', 'Failed');
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare']);
    assert.equal(qemu!.server.count('quit'), 0);
    assert.equal(qemu!.process.exited, false);
  });

  it('D11 the source Failed but the incoming migration is postcopy-active: kept', async () => {
    const { qemu } = await h.domain(incoming);
    qemu!.server.override('query-migrate', { return: { status: 'postcopy-active' } });
    h.peer.phase('mig-1', 'Failed');
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare']);
    assert.equal(qemu!.server.count('quit'), 0);
    assert.equal(qemu!.process.exited, false);
  });

  it('D12 Finish with the incoming VM paused and the source Cancelled: Failed, the paused copy destroyed (the source runs the VM)', async () => {
    const { qemu } = await h.domain(incoming);
    h.peer.phase('mig-1', 'Cancelled');
    h.record({ side: 'destination', phase: 'Finish' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Finish', 'Failed']);
    assert.equal(h.get('destination').error, "the source's migration is Cancelled");
    assert.equal(h.get('destination').cleanupDone, true);
    assert.equal(qemu!.process.exited, true);
  });

  it('D13 offline, the source Cancelled: Cancelled, the disk copies made here removed', async () => {
    await h.domain({ persistent: false });
    const copy = `${h.dir.path}/copy.qcow2`;
    writeFileSync(copy, 'x');
    h.peer.phase('mig-1', 'Cancelled');
    h.record({ side: 'destination', phase: 'Prepare', options: { offline: true }, data: { created: [copy] } });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare', 'Cancelled']);
    assert.equal(existsSync(copy), false);
    assert.equal(h.get('destination').cleanupDone, true);
  });
});

describe('MigrationRecovery: the watchdog of an incoming migration this ferryd prepared', () => {
  let h: RecoveryHarness;
  beforeEach(async () => {
    h = await RecoveryHarness.start();
  });
  afterEach(() => h.close());

  it('W1 a source in Prepare (waiting for the reply) is waited for; its rollback whose Abort was lost (Failed) discards the incoming VM', async () => {
    const { qemu } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' }, persistent: false });
    h.peer.phase('mig-1', 'Perform');
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll(); // adopted, as prepare() leaves it: tracked, its job held
    h.peer.phase('mig-1', 'Prepare');
    h.service.recovery.watchIncoming('mig-1', 10);
    await until(() => h.peer.calls().length >= 3);
    assert.deepEqual(h.phases('destination'), ['Prepare'], 'a source still in Prepare is not a failed one while it is watched');
    assert.equal(qemu!.process.exited, false);
    h.peer.phase('mig-1', 'Failed');
    await until(() => qemu!.process.exited);
    assert.deepEqual(h.phases('destination'), ['Prepare', 'Cancelled']);
    assert.equal(h.get('destination').error, "the source's migration is Failed");
  });

  it('W2 once the record left Prepare (Finish asked), the watchdog stops asking', async () => {
    await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' }, persistent: false });
    h.peer.phase('mig-1', 'Perform');
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    const asked = h.peer.calls().length;
    h.migrations.setPhase('mig-1', 'destination', 'Finish');
    h.service.recovery.watchIncoming('mig-1', 10);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.peer.calls().length, asked);
    assert.equal(h.service.recovery.resolves(UUID), false);
  });
});

describe('MigrationRecovery: an incoming migration whose source stays silent', () => {
  let h: RecoveryHarness;
  beforeEach(async () => {
    h = await RecoveryHarness.start({ orphanTimeoutMs: 0 });
  });
  afterEach(() => h.close());

  it('D7 past the orphan timeout: discarded ("the source stayed silent")', async () => {
    const { qemu } = await h.domain({ qemu: 'paused', status: { state: 'paused', reason: 'migrating' }, persistent: false });
    await h.peer.close();
    h.record({ side: 'destination', phase: 'Prepare' });
    await h.recoverAll();
    assert.deepEqual(h.phases('destination'), ['Prepare', 'Cancelled']);
    assert.equal(h.get('destination').error, 'the source stayed silent');
    assert.equal(qemu!.process.exited, true);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond());
}
