import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { ScriptedQmpServer } from '../../test/fakes/scripted-qmp-server.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { connectQmpSocket } from '../qmp/transport.js';
import { DirtyRateMonitor, dirtyRateModeFor } from './dirty-rate.js';
import { QemuMonitor } from './monitor.js';

const MiB = 1024 * 1024;

/** QEMU 10.0's replies, as recorded from qemu-system-x86_64 10.0.2 (TCG). */
const info = (status: 'unstarted' | 'measuring' | 'measured', extra: Record<string, unknown> = {}) => ({
  status,
  'sample-pages': 4096,
  mode: 'page-sampling',
  'calc-time-unit': 'millisecond',
  'start-time': 1796088537,
  'calc-time': status === 'unstarted' ? 0 : 200,
  ...(status === 'measured' ? { 'dirty-rate': 150 } : {}),
  ...extra,
});

describe('DirtyRateMonitor.measure()', () => {
  const dir = tempDir('ferry-dirty-');
  const open: Array<{ server: ScriptedQmpServer; monitor: QemuMonitor }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.monitor.close();
      await o.server.close();
    }
  });
  after(() => dir.cleanup());

  async function connect(): Promise<{ server: ScriptedQmpServer; dr: DirtyRateMonitor }> {
    const server = await ScriptedQmpServer.listen({ path: `${dir.path}/m${open.length}.sock` });
    const monitor = await QemuMonitor.open(await connectQmpSocket(server.path, { timeoutMs: 2000 }), { timeoutMs: 2000 });
    open.push({ server, monitor });
    return { server, dr: new DirtyRateMonitor(monitor) };
  }

  it('asks for a window in ms and polls through unstarted and measuring until measured', async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { return: {} });
    const states = ['unstarted', 'measuring', 'measuring', 'measured'] as const;
    server.override('query-dirty-rate', { handle: (_a, n) => info(states[Math.min(n, states.length) - 1] as (typeof states)[number]) });
    const m = await dr.measure({ windowMs: 200, mode: 'page-sampling', samplePages: 4096, pollMs: 1 });
    assert.deepEqual(m, { bytesPerSec: 150 * MiB, mode: 'page-sampling', windowMs: 200, samplePages: 4096 });
    const calc = server.received.find((c) => c.execute === 'calc-dirty-rate');
    assert.deepEqual(calc?.arguments, { 'calc-time': 200, 'calc-time-unit': 'millisecond', mode: 'page-sampling', 'sample-pages': 4096 });
    assert.equal(server.count('query-dirty-rate'), 4);
    assert.deepEqual(server.received.find((c) => c.execute === 'query-dirty-rate')?.arguments, { 'calc-time-unit': 'millisecond' });
  });

  it('measures once more when QEMU took more than twice the window (its hashing outlasted it: a low reading), and returns the second', async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { return: {} });
    const replies = [info('measured', { 'calc-time': 1183, 'dirty-rate': 6 }), info('measured', { 'calc-time': 104, 'dirty-rate': 148 })];
    server.override('query-dirty-rate', { handle: (_a, n) => replies[Math.min(n, replies.length) - 1] });
    const m = await dr.measure({ windowMs: 100, mode: 'page-sampling', pollMs: 1 });
    assert.deepEqual(m, { bytesPerSec: 148 * MiB, mode: 'page-sampling', windowMs: 104, samplePages: 4096 });
    assert.equal(server.count('calc-dirty-rate'), 2);
    // Within twice the window: one measurement.
    const { server: s2, dr: dr2 } = await connect();
    s2.override('calc-dirty-rate', { return: {} });
    s2.override('query-dirty-rate', { return: info('measured', { 'calc-time': 190, 'dirty-rate': 140 }) });
    assert.equal((await dr2.measure({ windowMs: 100, mode: 'page-sampling', pollMs: 1 })).bytesPerSec, 140 * MiB);
    assert.equal(s2.count('calc-dirty-rate'), 1);
  });

  it('waits out a measurement another client started, then starts its own', async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { nth: 1, error: 'the dirty rate is already being measured.' });
    server.override('calc-dirty-rate', { return: {} });
    server.override('query-dirty-rate', { return: info('measured', { 'dirty-rate': 32, 'calc-time': 50 }) });
    const m = await dr.measure({ windowMs: 50, mode: 'page-sampling', pollMs: 1 });
    assert.equal(m.bytesPerSec, 32 * MiB);
    assert.equal(server.count('calc-dirty-rate'), 2);
  });

  it('falls back to the dirty bitmap on a KVM guest without a dirty ring', async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { return: {} });
    server.override('calc-dirty-rate', { nth: 1, error: 'mode dirty-ring is not enabled, use other method instead.' });
    server.override('query-dirty-rate', { return: info('measured', { mode: 'dirty-bitmap', 'sample-pages': 0, 'dirty-rate': 5, 'calc-time': 102 }) });
    const m = await dr.measure({ windowMs: 100, mode: 'dirty-ring', pollMs: 1 });
    assert.deepEqual(m, { bytesPerSec: 5 * MiB, mode: 'dirty-bitmap', windowMs: 102 });
    assert.deepEqual(
      server.received.filter((c) => c.execute === 'calc-dirty-rate').map((c) => c.arguments?.['mode']),
      ['dirty-ring', 'dirty-bitmap'],
    );
  });

  it("refuses a measurement in another mode than its own (someone else's) and QEMU's errors, with a code", async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { return: {} });
    server.override('query-dirty-rate', { return: info('measured', { mode: 'dirty-bitmap' }) });
    await assert.rejects(
      dr.measure({ windowMs: 50, mode: 'page-sampling', pollMs: 1 }),
      (e: unknown) => e instanceof FerryError && e.code === 'QEMU_DIRTY_RATE_FAILED',
    );
    server.override('calc-dirty-rate', { error: 'Calculation time is out of range [50ms, 60000ms].' });
    await assert.rejects(dr.measure({ windowMs: 50, mode: 'page-sampling' }), (e: unknown) => e instanceof FerryError && e.code === 'QMP_COMMAND_FAILED');
    await assert.rejects(dr.measure({ windowMs: 10, mode: 'page-sampling' }), RangeError);
  });

  it('ends the wait at once when QEMU goes away during the window (the migration ended)', async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { return: {} });
    const measuring = dr.measure({ windowMs: 60_000, mode: 'page-sampling' });
    await server.waitFor('calc-dirty-rate');
    const t0 = Date.now();
    server.drop();
    await assert.rejects(measuring, (e: unknown) => e instanceof FerryError && e.code === 'QMP_DISCONNECTED');
    assert.ok(Date.now() - t0 < 30_000, 'not after the window');
  });

  it('gives up when QEMU never reports measured', async () => {
    const { server, dr } = await connect();
    server.override('calc-dirty-rate', { return: {} });
    server.override('query-dirty-rate', { return: info('measuring') });
    await assert.rejects(
      dr.measure({ windowMs: 50, mode: 'page-sampling', pollMs: 5, graceMs: 30 }),
      (e: unknown) => e instanceof FerryError && e.code === 'QEMU_DIRTY_RATE_FAILED' && /did not finish/.test(e.message),
    );
  });
});

describe('dirtyRateModeFor()', () => {
  it('samples pages under TCG and uses the dirty ring or bitmap under KVM', () => {
    assert.equal(dirtyRateModeFor('tcg', undefined), 'page-sampling');
    assert.equal(dirtyRateModeFor(undefined, 4096), 'page-sampling');
    assert.equal(dirtyRateModeFor('kvm', 4096), 'dirty-ring');
    assert.equal(dirtyRateModeFor('kvm', 0), 'dirty-bitmap');
  });
});
