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
import { defaultMigrationOptions } from './options.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import { PostcopyControl } from './postcopy/control.js';
import { PostcopyRecovery } from './postcopy/recovery.js';
import { PostcopyGuard } from './postcopy/safety.js';
import { pino } from 'pino';
import { Escalation, type StepState } from './policy/escalation.js';
import { planPolicy } from './policy/policy-plan.js';

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

  /** A QEMU that says it migrates but moves `step` bytes per look (0: a stalled connection); `ended` by the command that ends it. */
  function moving(status: 'active' | 'postcopy-active', step: number, endBy: string, looks = 1000): Array<[string, QmpOverride]> {
    let ended: string | undefined;
    let n = 0;
    const reply = () => {
      if (ended || n >= looks) return { status: ended ?? 'completed' };
      n++;
      return { status, ram: { 'dirty-sync-count': 1, remaining: 64 << 20, total: 256 << 20, transferred: n * step, mbps: 100 } };
    };
    return [
      ['query-migrate', { handle: reply }],
      [endBy, { handle: () => ((ended = endBy === 'migrate_cancel' ? 'cancelled' : 'completed'), {}) }],
    ];
  }

  it('migration_progress_timeout: a pre-copy that moves no data is aborted with MIG_NO_PROGRESS', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', overrides: moving('active', 0, 'migrate_cancel'), extra: { progressTimeoutMs: 60 } });
    assert.equal(r.err?.code, 'MIG_NO_PROGRESS');
    assert.match(r.err?.message ?? '', /no data moved for 0 s \(migration_progress_timeout\); the domain keeps running on the source/);
    assert.equal(r.server.count('migrate_cancel'), 1);
  });

  it('migration_progress_timeout: data that moves, however slowly, is progress', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', overrides: moving('active', 1, 'migrate_cancel', 40), extra: { progressTimeoutMs: 60 } });
    assert.equal(r.ok?.info.status, 'completed');
    assert.equal(r.server.count('migrate_cancel'), 0);
  });

  it('migration_progress_timeout: a stalled post-copy is broken off with migrate-pause (so its recovery reconnects), never aborted', async () => {
    const notes: string[] = [];
    const r = await follow({
      transcript: 'migrate-source-completed',
      overrides: moving('postcopy-active', 0, 'migrate-pause'),
      extra: { progressTimeoutMs: 60, throughPostcopy: true },
      before: (a) => {
        a.active.postcopyStarted = true;
        const progress = a.onProgress;
        a.onProgress = () => {
          if (a.active.job.postcopy) notes.push(a.active.job.postcopy);
          progress();
        };
      },
    });
    assert.equal(r.ok?.info.status, 'completed');
    assert.equal(r.server.count('migrate-pause'), 1);
    assert.equal(r.server.count('migrate_cancel'), 0);
    assert.deepEqual(notes, ['no data moved for 0 s: the connection is broken off to recover it'], 'domjobinfo says why');
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

  /**
   * A guest that never converges, as QEMU reports it pass by pass (ram.dirty-sync-count, remaining,
   * expected-downtime), until ferry cancels (then `cancelled`) or starts post-copy (then `postcopy-active`).
   */
  let server: ScriptedQmpServer | undefined;
  function stalling(samples: Array<[pass: number, remainingMiB: number, expectedMs: number]>): Array<[string, QmpOverride]> {
    let ended: string | undefined;
    let n = 0;
    const reply = () => {
      // the guest paused for the last pass (QEMU's run state, modelled by the server): QEMU then completes
      if (!ended && server?.runstate === 'paused') ended = 'completed';
      if (ended) return { status: ended };
      const [pass, mib, expected] = samples[Math.min(n++, samples.length - 1)] as [number, number, number];
      return {
        status: 'active',
        'expected-downtime': expected,
        ram: { 'dirty-sync-count': pass, remaining: mib * 1048576, total: 256 * 1048576, transferred: 0, mbps: 128 },
      };
    };
    return [
      ['query-migrate', { handle: reply }],
      ['migrate_cancel', { handle: () => ((ended = 'cancelled'), {}) }],
      ['migrate-start-postcopy', { handle: () => ((ended = 'postcopy-active'), {}) }],
    ];
  }
  const policyFollow = (o: Partial<MigrationOptions>, samples: Array<[number, number, number]>, before?: (a: FollowArgs) => void) => {
    const steps: StepState[] = [];
    const plan = planPolicy({ options: { ...defaultMigrationOptions(), live: true, ...o }, downtimeCeilingMs: 300 });
    return follow({
      transcript: 'migrate-source-cancelled',
      overrides: stalling(samples),
      options: o,
      extra: { escalation: new Escalation(plan), onStep: (st) => steps.push(st) },
      before: (a, srv) => {
        server = srv;
        before?.(a);
      },
    }).then((r) => ({ ...r, steps }));
  };
  const downtimes = (server: ScriptedQmpServer) =>
    server.received.filter((c) => c.execute === 'migrate-set-parameters').map((c) => c.arguments?.['downtime-limit']);

  it('policy minimal-downtime: raises the limit on each stalled pass, then cancels with MIG_NOT_CONVERGING and the step in the job', async () => {
    const r = await policyFollow({ policy: 'minimal-downtime' }, [
      [1, 200, 1500],
      [2, 30, 240],
      [3, 30, 240],
      [4, 30, 240],
      [5, 30, 240],
      [6, 30, 240],
      [7, 30, 240],
    ]);
    assert.equal(r.err?.code, 'MIG_NOT_CONVERGING');
    assert.match(r.err?.message ?? '', /policy minimal-downtime: pass 6 left 30\.0 MiB, as much as pass 5/);
    assert.deepEqual(downtimes(r.server), [100, 150, 200, 300]);
    assert.equal(r.server.count('migrate_cancel'), 1);
    assert.deepEqual(
      r.steps.map((s) => s.step),
      ['ramp', 'ramp', 'ramp', 'ramp', 'abort'],
    );
    assert.equal(r.active.job.policy, 'minimal-downtime');
    assert.equal(r.active.job.policyStep, 'abort');
    assert.equal(r.active.job.downtimeLimitMs, 300);
  });

  it('policy post-copy: a stall no ramp step can fit (expected-downtime) switches to post-copy at once', async () => {
    const r = await policyFollow({ policy: 'post-copy' }, [
      [1, 200, 6000],
      [2, 32, 2000],
      [3, 32, 2000],
    ]);
    assert.equal(r.ok?.postcopy, true);
    assert.equal(r.server.count('migrate-start-postcopy'), 1);
    assert.deepEqual(downtimes(r.server), []);
    assert.equal(r.active.job.policyStep, 'post-copy');
    assert.match(r.active.job.policyReason ?? '', /more than the ramp's top \(300 ms\): switching to post-copy/);
  });

  it('policy suspend-if-needed: pauses the guest for the last pass when it fits, the limit at the maximum pause, and measures the pause', async () => {
    const r = await policyFollow({ policy: 'suspend-if-needed', maxDowntime: 3000 }, [
      [1, 200, 6000],
      [2, 32, 2000],
      [3, 32, 2000],
    ]);
    assert.equal(r.ok?.info.status, 'completed', r.err?.message);
    assert.equal(r.server.count('stop'), 1);
    assert.deepEqual(downtimes(r.server), [3000]);
    assert.deepEqual(r.vm.status, { state: 'paused', reason: 'migrating' });
    assert.equal(r.active.job.policyStep, 'suspend');
    assert.ok(r.active.job.pausedMs !== undefined && r.active.job.pausedMs >= 0);
  });

  it('suspend-if-needed whose last pass would not fit the pause aborts with MIG_DOWNTIME_UNREACHABLE, the guest never paused', async () => {
    const r = await policyFollow({ policy: 'suspend-if-needed', maxDowntime: 500 }, [
      [1, 200, 6000],
      [2, 32, 2000],
      [3, 32, 2000],
    ]);
    assert.equal(r.err?.code, 'MIG_DOWNTIME_UNREACHABLE');
    assert.match(r.err?.message ?? '', /the last pass would pause the guest 2000 ms, more than 500 ms/);
    assert.equal(r.server.count('stop'), 0);
    assert.equal(r.server.count('migrate_cancel'), 1);
  });

  it('a migrate-setmaxdowntime during the migration pins the limit: no ramp, the escalation still runs', async () => {
    const r = await policyFollow(
      { policy: 'minimal-downtime' },
      [
        [1, 200, 100],
        [2, 30, 240],
        [3, 30, 240],
        [4, 30, 240],
        [5, 30, 240],
        [6, 30, 240],
        [7, 30, 240],
      ],
      (a) => {
        a.active.downtimePinned = true;
      },
    );
    assert.equal(r.err?.code, 'MIG_NOT_CONVERGING');
    assert.deepEqual(downtimes(r.server), []);
  });

  it('a monitor that drops the connection at the 2nd query-migrate fails with QMP_DISCONNECTED', async () => {
    const r = await follow({ transcript: 'migrate-source-completed', overrides: [['query-migrate', { nth: 2, drop: 'instead' }]] });
    assert.ok(r.err instanceof FerryError);
    assert.equal(r.err.code, 'QMP_DISCONNECTED');
  });
});
