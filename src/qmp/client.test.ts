import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeQmpTransport } from '../../test/fakes/fake-qmp-transport.js';
import { QmpClient, type Runstate } from './client.js';
import { QmpCommandError, QmpDisconnectedError, QmpProtocolError, QmpStateError, QmpTimeoutError } from './errors.js';

async function connected(): Promise<{ client: QmpClient; t: FakeQmpTransport; states: Runstate[] }> {
  const client = new QmpClient({ defaultTimeoutMs: 1000 });
  const states: Runstate[] = [];
  client.on('runstate', (s) => states.push(s));
  const t = new FakeQmpTransport();
  const done = client.connect(t);
  t.greet();
  await done;
  return { client, t, states };
}

describe('QmpClient', () => {
  it('connect() reads the greeting, negotiates and walks idle → connecting → running', async () => {
    const { client, t, states } = await connected();
    assert.deepEqual(states, ['connecting', 'running']);
    assert.equal(t.sent[0]?.execute, 'qmp_capabilities');
    assert.equal(client.greeting?.version.qemu.major, 10);
  });

  it('connect() rejects a first message that is not a greeting', async () => {
    const client = new QmpClient();
    const t = new FakeQmpTransport();
    const done = client.connect(t);
    t.push({ return: {} });
    await assert.rejects(done, QmpProtocolError);
    assert.equal(client.runstate, 'idle');
    assert.equal(t.closed, true);
  });

  it('connect() fails when the peer closes before greeting', async () => {
    const client = new QmpClient();
    const t = new FakeQmpTransport();
    const done = client.connect(t);
    t.drop(undefined);
    await assert.rejects(done, QmpDisconnectedError);
  });

  it('connect() times out without a greeting', async () => {
    const client = new QmpClient();
    await assert.rejects(client.connect(new FakeQmpTransport(), { timeoutMs: 20 }), QmpTimeoutError);
  });

  it('execute() is refused before connect()', () => {
    assert.throws(() => new QmpClient().execute('query-status'), QmpStateError);
  });

  it('execute() routes replies by id, whatever their order', async () => {
    const { client, t } = await connected();
    const a = client.execute('query-a');
    const b = client.execute('query-b');
    await t.sentCount(3);
    const [, sa, sb] = t.sent;
    assert.notEqual(sa?.id, sb?.id);
    t.push({ return: 'B', id: sb?.id });
    t.push({ return: 'A', id: sa?.id });
    assert.equal(await a, 'A');
    assert.equal(await b, 'B');
  });

  it('execute() sends arguments and resolves with the return value', async () => {
    const { client, t } = await connected();
    t.handlers.set('query-status', () => ({ return: { status: 'running', running: true } }));
    const r = await client.execute<{ status: string }>('query-status', { x: 1 });
    assert.equal(r.status, 'running');
    assert.deepEqual(t.sent[1]?.arguments, { x: 1 });
  });

  it("execute() rejects with QEMU's error class and desc", async () => {
    const { client, t } = await connected();
    t.handlers.set('cont', () => ({ error: { class: 'GenericError', desc: 'Resetting the Virtual Machine is required' } }));
    await assert.rejects(client.execute('cont'), (err: unknown) => {
      assert.ok(err instanceof QmpCommandError);
      assert.equal(err.errorClass, 'GenericError');
      assert.equal(err.desc, 'Resetting the Virtual Machine is required');
      assert.equal(err.command, 'cont');
      return true;
    });
  });

  it('execute() rejects pending calls on disconnect', async () => {
    const { client, t, states } = await connected();
    const p1 = client.execute('a');
    const p2 = client.execute('b');
    t.drop(new Error('EPIPE'));
    await assert.rejects(p1, QmpDisconnectedError);
    await assert.rejects(p2, QmpDisconnectedError);
    assert.equal(client.runstate, 'idle');
    assert.deepEqual(states, ['connecting', 'running', 'idle']);
  });

  it('execute() times out and ignores the late reply', async () => {
    const { client, t } = await connected();
    const p = client.execute('slow', undefined, { timeoutMs: 20 });
    await assert.rejects(p, QmpTimeoutError);
    t.push({ return: 'late', id: t.sent[1]?.id });
    t.handlers.set('next', () => ({ return: 'ok' }));
    assert.equal(await client.execute('next'), 'ok');
  });

  it('execute() honours an AbortSignal', async () => {
    const { client } = await connected();
    const ac = new AbortController();
    const p = client.execute('slow', undefined, { signal: ac.signal });
    ac.abort(new Error('stop waiting'));
    await assert.rejects(p, /stop waiting/);
  });

  it('listen() registered before a command receives the event it triggers', async () => {
    const { client, t } = await connected();
    t.handlers.set('stop', () => {
      // QEMU sends the event before the reply.
      queueMicrotask(() => t.event('STOP'));
      return { return: {} };
    });
    const l = client.listen(['STOP']);
    await client.execute('stop');
    const e = await l.next({ timeoutMs: 100 });
    assert.equal(e.event, 'STOP');
    l.close();
  });

  it('listen() filters by name or predicate and gives every listener its own copy', async () => {
    const { client, t } = await connected();
    const byName = client.listen(['MIGRATION']);
    const byPred = client.listen((e) => e.event === 'MIGRATION' && (e.data as { status: string }).status === 'completed');
    t.event('RESUME');
    t.event('MIGRATION', { status: 'active' });
    t.event('MIGRATION', { status: 'completed' });
    const first = await byName.next();
    (first.data as { status: string }).status = 'mutated';
    assert.equal((await byName.next()).data.status, 'completed');
    assert.equal((await byPred.next()).data.status, 'completed');
    assert.equal(byPred.pending, 0);
  });

  it('listener next() fails on disconnect, and waitFor() skips non-matching events', async () => {
    const { client, t } = await connected();
    const l = client.listen(['MIGRATION']);
    const w = l.waitFor((e) => e.data.status === 'completed');
    t.event('MIGRATION', { status: 'active' });
    t.event('MIGRATION', { status: 'completed' });
    assert.equal((await w).data.status, 'completed');
    const pending = l.next();
    t.drop(undefined);
    await assert.rejects(pending, QmpDisconnectedError);
  });

  it('disconnect() closes the transport and fails pending calls', async () => {
    const { client, t } = await connected();
    const p = client.execute('x');
    let disconnects = 0;
    client.on('disconnect', () => disconnects++);
    client.disconnect();
    await assert.rejects(p, QmpDisconnectedError);
    assert.equal(t.closed, true);
    assert.equal(disconnects, 1);
  });
});
