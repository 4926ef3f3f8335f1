import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { startFakeDomain } from '../../test/fakes/fake-qemu.js';
import { loadTranscript } from '../../test/fakes/qmp-transcript.js';
import type { QmpOverride, ScriptedQmpServer } from '../../test/fakes/scripted-qmp-server.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import { ActiveMigration } from './active-migration.js';
import { followMigration, type FollowArgs, type FollowResult } from './follow-migration.js';
import { defaultMigrationOptions, type MigrationOptions } from './options.js';
import { PostcopyControl } from './postcopy/control.js';
import { PostcopyRecovery } from './postcopy/recovery.js';
import { PostcopyGuard } from './postcopy/safety.js';
import { pino } from 'pino';

/**
 * followMigration() against the scripted QMP monitor (test/fakes/scripted-qmp-server.ts) replaying
 * transcripts recorded from real QEMU 10.0 (test/fixtures/qmp/), with the failures scripted at exact
 * replies. Each test asserts the outcome and the QMP commands ferry sent.
 */
describe('followMigration() over a scripted QEMU monitor', () => {
  const dir = tempDir('ferry-follow-');
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });
  after(() => dir.cleanup());

  async function follow(o: {
    transcript: string;
    overrides?: Array<[string, QmpOverride]>;
    options?: Partial<MigrationOptions>;
    before?: (a: FollowArgs, server: ScriptedQmpServer) => void | Promise<void>;
    extra?: Partial<FollowArgs>;
  }) {
    const name = `f${closers.length}${Math.random().toString(36).slice(2, 6)}`;
    const d = await startFakeDomain({ dir: dir.path, transcript: loadTranscript(o.transcript), name });
    closers.push(d.close);
    for (const [cmd, ov] of o.overrides ?? []) d.qemu.server.override(cmd, ov);
    // as sourcePerform() before migrate: the STOP of the switch is ferry's own
    d.vm.expectStop('migrating');
    const active = new ActiveMigration('m1', d.vm.uuid, d.vm.name, 'source', Date.now());
    active.phase = 'Perform';
    let progress = 0;
    const args: FollowArgs = {
      mm: new MigrationMonitor(d.vm.monitor),
      vm: d.vm,
      active,
      options: { ...defaultMigrationOptions(), live: true, ...o.options },
      events: d.vm.monitor.listen(['MIGRATION']),
      performStartedAt: Date.now(),
      onProgress: () => progress++,
      now: Date.now,
      pollMs: 5,
      ...o.extra,
    };
    await o.before?.(args, d.qemu.server);
    const result: { ok?: FollowResult; err?: FerryError } = await followMigration(args).then(
      (r) => ({ ok: r }),
      (err: unknown) => ({ err: err as FerryError }),
    );
    args.events.close();
    return { ...result, server: d.qemu.server, vm: d.vm, active, progress: () => progress };
  }

  it('follows a recorded migration to completed, one query-migrate per pass', async () => {
    const r = await follow({ transcript: 'migrate-source-completed' });
    assert.equal(r.ok?.info.status, 'completed');
    assert.equal(r.ok?.postcopy, false);
    // the recording took 6 passes (setup, active x3, device, completed): no command other than query-migrate
    assert.deepEqual(r.server.commands(), Array(6).fill('query-migrate'));
    assert.equal(r.progress(), 6);
    assert.equal(r.active.job.operation, 'Outgoing migration');
  });

  it("fails with QEMU's reason when the destination QEMU died (recorded: Broken pipe)", async () => {
    const r = await follow({ transcript: 'migrate-source-failed' });
    assert.equal(r.err?.code, 'MIG_FAILED');
    assert.match(r.err?.message ?? '', /migration failed: Unable to write to socket: Broken pipe/);
    assert.ok(r.server.commands().every((c) => c === 'query-migrate'));
  });

  it('fails at the 3rd query-migrate reply when QEMU says failed there', async () => {
    const failed = { nth: 3, return: { status: 'failed', 'error-desc': 'scripted' } };
    const r = await follow({ transcript: 'migrate-source-completed', overrides: [['query-migrate', failed]] });
    assert.equal(r.err?.code, 'MIG_FAILED');
    assert.match(r.err?.message ?? '', /scripted/);
    assert.equal(r.server.count('query-migrate'), 3);
  });

  it('an abort request sends migrate_cancel once and ends MIG_CANCELLED (recorded cancel)', async () => {
    const r = await follow({ transcript: 'migrate-source-cancelled', before: (a) => a.active.requestAbort() });
    assert.equal(r.err?.code, 'MIG_CANCELLED');
    assert.equal(r.server.count('migrate_cancel'), 1);
    assert.equal(r.server.commands()[0], 'query-migrate');
    assert.equal(r.server.commands()[1], 'migrate_cancel');
  });

  it('--timeout with the abort action cancels and reports MIG_TIMEOUT', async () => {
    const r = await follow({
      transcript: 'migrate-source-cancelled',
      options: { timeout: 1, timeoutAction: 'abort' },
      extra: { performStartedAt: Date.now() - 5000 },
    });
    assert.equal(r.err?.code, 'MIG_TIMEOUT');
    assert.equal(r.server.count('migrate_cancel'), 1);
  });

  it('--timeout with the suspend action stops the vCPUs (paused, migrating) and the migration completes', async () => {
    const r = await follow({
      transcript: 'migrate-source-completed',
      options: { timeout: 1, timeoutAction: 'suspend' },
      extra: { performStartedAt: Date.now() - 5000 },
    });
    assert.equal(r.ok?.info.status, 'completed');
    assert.equal(r.server.count('stop'), 1);
    assert.equal(r.server.count('migrate_cancel'), 0);
    assert.deepEqual(r.vm.status, { state: 'paused', reason: 'migrating' });
  });

  it('--abort-on-error cancels once the guest paused on an I/O error', async () => {
    const r = await follow({
      transcript: 'migrate-source-cancelled',
      options: { abortOnError: true },
      before: async (a, server) => {
        // QEMU's order: BLOCK_IO_ERROR (action stop), then STOP; the RunningDomain turns them into paused (I/O error)
        const paused = new Promise((resolve) => a.vm.once('status', resolve));
        server.event('BLOCK_IO_ERROR', { device: 'vda', operation: 'write', action: 'stop' });
        server.event('STOP');
        await paused;
      },
    });
    assert.equal(r.err?.code, 'MIG_FAILED');
    assert.match(r.err?.message ?? '', /I\/O error and --abort-on-error/);
    assert.equal(r.server.count('migrate_cancel'), 1);
  });

  it('without --abort-on-error the same I/O error does not cancel', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', before: (_a, server) => server.event('STOP') });
    assert.equal(r.ok?.info.status, 'completed');
    assert.equal(r.server.count('migrate_cancel'), 0);
  });

  it('a post-copy switch (3rd reply postcopy-active) returns at the switch', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', overrides: [['query-migrate', { nth: 3, return: { status: 'postcopy-active' } }]] });
    assert.equal(r.ok?.postcopy, true);
    assert.equal(r.ok?.info.status, 'postcopy-active');
    assert.equal(r.active.postcopyStarted, true);
    assert.equal(r.server.count('query-migrate'), 3);
  });

  it('a post-copy request sends migrate-start-postcopy while active', async () => {
    const r = await follow({
      transcript: 'migrate-source-completed',
      overrides: [
        ['migrate-start-postcopy', { events: [{ event: 'MIGRATION', data: { status: 'postcopy-active' } }] }],
        ['query-migrate', { nth: 3, return: { status: 'postcopy-active' } }],
      ],
      before: (a) => a.active.requestPostcopy(),
    });
    assert.equal(r.ok?.postcopy, true);
    assert.deepEqual(r.server.commands().slice(0, 3), ['query-migrate', 'query-migrate', 'migrate-start-postcopy']);
  });

  it('post-copy paused after the switch is MIG_POSTCOPY_FAILED (the source cannot take the VM back)', async () => {
    const r = await follow({
      transcript: 'migrate-source-completed',
      overrides: [
        ['query-migrate', { nth: 3, return: { status: 'postcopy-active' } }],
        ['query-migrate', { nth: 4, return: { status: 'postcopy-paused', 'error-desc': 'link down' } }],
      ],
      extra: { throughPostcopy: true },
    });
    assert.equal(r.err?.code, 'MIG_POSTCOPY_FAILED');
    assert.match(r.err?.message ?? '', /postcopy-paused: link down/);
  });

  /** Post-copy control as LiveSteps builds it, over fakes: a destination that answers (or not), automatic recovery off. */
  const control = (a: FollowArgs, destinationAnswers: boolean): { notes: string[] } => {
    const notes: string[] = [];
    const log = pino({ level: 'silent' });
    const guard = new PostcopyGuard({
      mm: { queryCapabilities: async () => ({ 'postcopy-ram': true, 'return-path': true }) },
      domain: 'd',
      now: Date.now,
      askDestination: async () => (destinationAnswers ? { phase: 'Prepare', incoming: 'active' } : Promise.reject(new Error('no answer within 5000 ms'))),
    });
    const recovery = new PostcopyRecovery({
      mm: a.mm,
      domain: 'd',
      targetHost: 'h',
      attempts: 0,
      log,
      now: Date.now,
      askDestination: async () => ({ port: 1 }),
    });
    a.active.postcopy = new PostcopyControl(guard, recovery, { log, rearm: () => undefined });
    const progress = a.onProgress;
    a.onProgress = () => {
      if (a.active.job.postcopy) notes.push(a.active.job.postcopy);
      progress();
    };
    return { notes };
  };

  it('a post-copy switch the safety check refuses is not sent: the migration goes on in pre-copy and completes', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', before: (a) => (control(a, false), a.active.requestPostcopy()) });
    assert.equal(r.ok?.info.status, 'completed');
    assert.equal(r.ok?.postcopy, false);
    assert.ok(!r.server.commands().includes('migrate-start-postcopy'));
  });

  it('post-copy paused after the switch, with recovery: neither side gives up; domjobinfo says so; the migration completes once it runs again', async () => {
    let notes: string[] = [];
    const r = await follow({
      transcript: 'migrate-source-completed',
      overrides: [
        ['query-migrate', { nth: 3, return: { status: 'postcopy-active' } }],
        ['query-migrate', { nth: 4, return: { status: 'postcopy-paused', 'error-desc': 'link down' } }],
        ['query-migrate', { nth: 5, return: { status: 'postcopy-active' } }],
      ],
      extra: { throughPostcopy: true },
      before: (a) => void ({ notes } = control(a, true)),
    });
    assert.equal(r.ok?.info.status, 'completed');
    assert.match(notes[0] ?? '', /^postcopy-paused: the connection broke \(automatic recovery off\); resume with ferry migrate --postcopy-resume/);
  });

  it('pause-before-switchover: runs the switch-over hook with the source stopped, then migrate-continue once (recorded)', async () => {
    const seen: string[] = [];
    const r = await follow({
      transcript: 'migrate-source-switchover',
      before: (a, server) => {
        a.onPreSwitchover = async () => {
          seen.push(`hook (QEMU ${server.runstate}, ${server.count('migrate-continue')} migrate-continue)`);
        };
      },
    });
    assert.equal(r.ok?.info.status, 'completed');
    assert.deepEqual(seen, ['hook (QEMU paused, 0 migrate-continue)']);
    assert.equal(r.server.count('migrate-continue'), 1);
    assert.ok(r.server.commands().indexOf('migrate-continue') > 0);
  });

  it('a monitor that drops the connection at the 2nd query-migrate fails with QMP_DISCONNECTED', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', overrides: [['query-migrate', { nth: 2, drop: 'instead' }]] });
    assert.ok(r.err instanceof FerryError);
    assert.equal(r.err.code, 'QMP_DISCONNECTED');
  });
});
