import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { FerryError } from '../errors/ferry-error.js';
import { AgentConnection } from './connection.js';
import { GuestAgent, parseRawCommand } from './guest-agent.js';

interface Received {
  execute: string;
  arguments?: Record<string, unknown>;
  /** The line was preceded by 0xFF (guest-sync-delimited's reset byte). */
  reset: boolean;
  raw: string;
}

/** The far end of an agent channel, scripted by each test: what the client sent, and raw writes back. */
class FakeAgentEnd {
  readonly received: Received[] = [];
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      let nl: number;
      while ((nl = this.buffer.indexOf(0x0a)) >= 0) {
        let line = this.buffer.subarray(0, nl);
        this.buffer = this.buffer.subarray(nl + 1);
        const reset = line[0] === 0xff;
        if (reset) line = line.subarray(1);
        const raw = line.toString('utf8');
        this.received.push({ ...(JSON.parse(raw) as { execute: string }), reset, raw });
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Waits until the client has sent n commands, returns the n-th. */
  async nth(n: number): Promise<Received> {
    while (this.received.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.received[n - 1] as Received;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Answers the sync that is the n-th command like qemu-ga: its complaint about 0xFF, then 0xFF and the id. */
  async answerSync(n: number): Promise<void> {
    const s = await this.nth(n);
    assert.equal(s.execute, 'guest-sync-delimited');
    assert.equal(s.reset, true);
    this.write('{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\uFFFD\'"}}\n');
    this.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`{"return": ${String(s.arguments?.id)}}\n`)]));
  }
}

describe('AgentConnection', () => {
  let dir: string;
  let server: net.Server;
  let path: string;
  const ends: FakeAgentEnd[] = [];
  let accepted: Array<(end: FakeAgentEnd) => void> = [];

  before(async () => {
    dir = mkdtempSync(`${tmpdir()}/ferry-agent-`);
    path = `${dir}/agent.sock`;
    server = net.createServer((socket) => {
      const end = new FakeAgentEnd(socket);
      ends.push(end);
      for (const a of accepted.splice(0)) a(end);
    });
    await new Promise<void>((r) => server.listen(path, r));
  });
  after(() => {
    for (const e of ends) e.socket.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(options = {}): Promise<{ conn: AgentConnection; end: FakeAgentEnd }> {
    const got = new Promise<FakeAgentEnd>((r) => accepted.push(r));
    const conn = await AgentConnection.connect(path, { syncTimeoutMs: 300, defaultTimeoutMs: 300, ...options });
    return { conn, end: await got };
  }

  it('execute() syncs first, skips garbage and a stale delimited reply, and reads a reply split into single bytes', async () => {
    const { conn, end } = await open();
    const p = conn.execute('guest-get-host-name');
    const s = await end.nth(1);
    end.write('{"return": "left by an earlier client"}\nnot json at all\n{"return": "half a li');
    end.write(Buffer.concat([Buffer.from([0xff]), Buffer.from('{"return": 12345}\n')])); // an older sync's answer
    end.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`{"return": ${String(s.arguments?.id)}}\n`)]));
    const c = await end.nth(2);
    assert.equal(c.execute, 'guest-get-host-name');
    assert.equal(c.reset, false);
    for (const byte of Buffer.from('{"return": {"host-name": "ferry-guest"}}\n')) end.write(Buffer.from([byte]));
    assert.deepEqual(await p, { 'host-name': 'ferry-guest' });
    conn.close();
  });

  it('execute() without an answer to the sync fails with AGENT_UNRESPONSIVE, and the next command still works', async () => {
    const { conn, end } = await open();
    await assert.rejects(conn.execute('guest-ping'), (err: FerryError) => {
      assert.equal(err.code, 'AGENT_UNRESPONSIVE');
      assert.equal(err.message, 'Guest agent is not responding: Guest agent not available for now');
      return true;
    });
    // The agent wakes up late: it answers the old sync, then the new one.
    const p = conn.execute('guest-ping');
    await end.nth(2);
    await end.answerSync(1);
    await end.answerSync(2);
    await end.nth(3);
    end.write('{"return": {}}\n');
    assert.deepEqual(await p, {});
    conn.close();
  });

  it('execute() times out on its own timeout when the sync was answered but the command is not', async () => {
    const { conn, end } = await open();
    const p = conn.execute('guest-fsfreeze-freeze', undefined, { timeoutMs: 50 });
    await end.answerSync(1);
    await assert.rejects(p, (err: FerryError) => err.code === 'AGENT_UNRESPONSIVE' && err.details.command === 'guest-fsfreeze-freeze');
    conn.close();
  });

  it("execute() turns an error reply into AGENT_COMMAND_FAILED in virsh's words", async () => {
    const { conn, end } = await open();
    const p = conn.execute('guest-set-time', {});
    await end.answerSync(1);
    await end.nth(2);
    end.write('{"error": {"class": "CommandNotFound", "desc": "Command guest-set-time has been disabled"}}\n');
    await assert.rejects(p, (err: FerryError) => {
      assert.equal(err.code, 'AGENT_COMMAND_FAILED');
      assert.equal(err.message, "internal error: unable to execute QEMU agent command 'guest-set-time': Command guest-set-time has been disabled");
      return true;
    });
    conn.close();
  });

  it('execute() rejects a reply that is not JSON with AGENT_PROTOCOL', async () => {
    const { conn, end } = await open();
    const p = conn.execute('guest-ping');
    await end.answerSync(1);
    await end.nth(2);
    end.write('Debian GNU/Linux 12 login:\n');
    await assert.rejects(p, (err: FerryError) => err.code === 'AGENT_PROTOCOL');
    conn.close();
  });

  it('runs one command at a time: the second sync is sent only after the first reply', async () => {
    const { conn, end } = await open();
    const a = conn.execute('guest-ping');
    const b = conn.execute('guest-info');
    await end.answerSync(1);
    await end.nth(2);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(end.received.length, 2);
    end.write('{"return": {}}\n');
    await a;
    await end.answerSync(3);
    assert.equal((await end.nth(4)).execute, 'guest-info');
    end.write('{"return": {"version": "7.2.22", "supported_commands": []}}\n');
    assert.equal(((await b) as { version: string }).version, '7.2.22');
    conn.close();
  });

  it('a closed channel fails the pending command and every later one with "not connected"', async () => {
    const { conn, end } = await open();
    const p = conn.execute('guest-ping');
    await end.nth(1);
    end.socket.destroy();
    const notConnected = (err: FerryError): boolean =>
      err.code === 'AGENT_UNRESPONSIVE' && err.message === 'Guest agent is not responding: QEMU guest agent is not connected';
    await assert.rejects(p, notConnected);
    await assert.rejects(conn.execute('guest-ping'), notConnected);
    assert.equal(conn.closed, true);
  });

  it('connect() to a socket nobody serves fails with "not connected"', async () => {
    await assert.rejects(AgentConnection.connect(`${dir}/nothing.sock`), (err: FerryError) => err.code === 'AGENT_UNRESPONSIVE');
  });

  it('executeNoReply() resolves on the follow-up sync, and rejects when an error comes first', async () => {
    const { conn, end } = await open();
    const agent = new GuestAgent(conn);
    const ok = agent.shutdown('powerdown');
    await end.answerSync(1);
    assert.deepEqual((await end.nth(2)).arguments, { mode: 'powerdown' });
    const sync = await end.nth(3);
    assert.equal(sync.execute, 'guest-sync');
    end.write(`{"return": ${String(sync.arguments?.id)}}\n`);
    await ok;

    const refused = agent.shutdown('reboot');
    await end.answerSync(4);
    await end.nth(6);
    end.write('{"error": {"class": "CommandNotFound", "desc": "Command guest-shutdown has been disabled"}}\n');
    await assert.rejects(refused, (err: FerryError) => err.code === 'AGENT_COMMAND_FAILED');
    conn.close();
  });

  it('executeNoReply() resolves when the channel closes (the guest went down)', async () => {
    const { conn, end } = await open();
    const p = new GuestAgent(conn).shutdown('halt');
    await end.answerSync(1);
    await end.nth(3);
    end.socket.destroy();
    await p;
  });

  it('setTime() sends the nanoseconds as an exact integer', async () => {
    const { conn, end } = await open();
    const p = new GuestAgent(conn).setTime({ seconds: 1_700_000_000, nseconds: 123_456_789 });
    await end.answerSync(1);
    const c = await end.nth(2);
    assert.match(c.raw, /"time":1700000000123456789}/);
    end.write('{"return": {}}\n');
    await p;
    conn.close();
  });
});

describe('parseRawCommand()', () => {
  it('accepts execute with and without arguments', () => {
    assert.deepEqual(parseRawCommand('{"execute":"guest-info"}'), { execute: 'guest-info', args: undefined });
    assert.deepEqual(parseRawCommand('{"execute":"guest-fsfreeze-freeze-list","arguments":{"mountpoints":["/"]}}').args, { mountpoints: ['/'] });
  });

  it('refuses what is not an agent command with INVALID_ARGUMENT', () => {
    for (const bad of ['guest-info', '{"execute":1}', '[]', '{"execute":"x","arguments":[]}', '{"execute":"x","extra":1}']) {
      assert.throws(
        () => parseRawCommand(bad),
        (err: FerryError) => err.code === 'INVALID_ARGUMENT',
        bad,
      );
    }
  });
});
