import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, afterEach, describe, it } from 'node:test';
import { QemuMonitor } from '../../src/qemu/monitor.js';
import { MigrationMonitor } from '../../src/qemu/migration-monitor.js';
import { connectQmpSocket } from '../../src/qmp/transport.js';
import { tempDir } from '../helpers/tmp.js';
import { loadTranscript, TRANSCRIPT_DIR } from './qmp-transcript.js';
import { ScriptedQmpServer } from './scripted-qmp-server.js';

/** The scripted monitor itself, through ferry's real QmpClient (QemuMonitor over a unix socket). */
describe('ScriptedQmpServer', () => {
  const dir = tempDir('ferry-sqmp-');
  const open: Array<{ server: ScriptedQmpServer; monitor: QemuMonitor }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.monitor.close();
      await o.server.close();
    }
  });
  after(() => dir.cleanup());

  async function connect(o: { transcript?: string; runstate?: 'running' | 'paused' | 'inmigrate' } = {}) {
    const server = await ScriptedQmpServer.listen({
      path: `${dir.path}/m${open.length}.sock`,
      ...(o.transcript ? { transcript: loadTranscript(o.transcript) } : {}),
      ...(o.runstate ? { runstate: o.runstate } : {}),
    });
    const monitor = await QemuMonitor.open(await connectQmpSocket(server.path, { timeoutMs: 2000 }), { timeoutMs: 2000 });
    open.push({ server, monitor });
    return { server, monitor, mm: new MigrationMonitor(monitor) };
  }

  it("greets as the recorded QEMU 10.0 and negotiates capabilities with ferry's client", async () => {
    const { server, monitor } = await connect({ transcript: 'migrate-source-completed' });
    assert.deepEqual(monitor.version, { major: 10, minor: 0, micro: 2 });
    assert.deepEqual(
      server.received.map((c) => c.execute),
      ['qmp_capabilities'],
    );
  });

  it("replays each command's recorded replies in order, then the last again, with the recorded events", async () => {
    const { server, monitor, mm } = await connect({ transcript: 'migrate-source-completed' });
    const events = monitor.listen(['MIGRATION']);
    await mm.migrate('tcp:127.0.0.1:1');
    assert.equal((await events.next({ timeoutMs: 2000 })).data.status, 'setup');
    const statuses: string[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await mm.query()).status ?? '');
    assert.deepEqual(statuses, ['setup', 'active', 'active', 'active', 'device', 'completed', 'completed']);
    events.close();
    assert.equal(server.count('query-migrate'), 7);
  });

  it('overrides the nth reply, errors, and answers unknown commands as QEMU does', async () => {
    const { server, mm, monitor } = await connect({ transcript: 'migrate-source-completed' });
    server.override('query-migrate', { nth: 2, return: { status: 'failed' } }).override('migrate-start-postcopy', { error: 'postcopy not enabled' });
    assert.equal((await mm.query()).status, 'setup');
    assert.equal((await mm.query()).status, 'failed');
    assert.equal((await mm.query()).status, 'active');
    await assert.rejects(mm.startPostcopy(), /postcopy not enabled/);
    await assert.rejects(monitor.call('no-such-command'), /has not been found/);
  });

  it('drops the connection instead of replying when told to', async () => {
    const { server, mm } = await connect();
    server.override('query-migrate', { drop: 'instead' });
    await assert.rejects(mm.query(), (err: Error & { code?: string }) => err.code === 'QMP_DISCONNECTED');
  });

  it('models the run state: stop/cont send STOP/RESUME, an incoming QEMU refuses cont before the migration completes', async () => {
    const a = await connect();
    const ev = a.monitor.listen(['STOP', 'RESUME']);
    await a.monitor.stop();
    assert.equal((await ev.next({ timeoutMs: 2000 })).event, 'STOP');
    assert.deepEqual(await a.monitor.queryStatus(), { running: false, singlestep: false, status: 'paused' });
    await a.monitor.cont();
    assert.equal((await ev.next({ timeoutMs: 2000 })).event, 'RESUME');
    ev.close();
    const b = await connect({ runstate: 'inmigrate' });
    await assert.rejects(b.monitor.cont(), /not finalized/);
    b.server.event('MIGRATION', { status: 'completed' });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await b.monitor.queryStatus()).status, 'paused');
  });

  it('every checked-in transcript parses and was recorded from QEMU 10.0', () => {
    const files = readdirSync(TRANSCRIPT_DIR).filter((f) => f.endsWith('.jsonl'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const t = loadTranscript(f.replace(/\.jsonl$/, ''));
      assert.match(String(t.meta.qemu), /version 10\.0/, f);
      assert.ok(
        t.steps.some((s) => s.execute === 'migrate' || s.execute === 'migrate-incoming'),
        f,
      );
    }
  });
});
