import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { AgentConnection } from '../../src/agent/connection.js';
import { GuestAgent } from '../../src/agent/guest-agent.js';
import type { FerryError } from '../../src/errors/ferry-error.js';
import { tempDir } from '../helpers/tmp.js';

const QEMU_GA = process.env.FERRY_QEMU_GA ?? '/usr/sbin/qemu-ga';

/**
 * What the host's qemu-ga may run here: it runs as root on the test machine itself, so
 * everything that changes the host (shutdown, suspend, fsfreeze, set-time, exec, files,
 * users, vCPUs, memory, ssh keys) is blocked. qemu-ga 7.2 has only --block-rpcs, so
 * the block list is every RPC it knows minus these.
 */
const ALLOWED = new Set([
  'guest-sync-delimited',
  'guest-sync',
  'guest-ping',
  'guest-info',
  'guest-get-time',
  'guest-network-get-interfaces',
  'guest-get-osinfo',
  'guest-get-host-name',
  'guest-get-users',
  'guest-get-timezone',
  'guest-fsfreeze-status',
]);

/** The agent client against a real qemu-ga on the host (unix-listen), every dangerous RPC blocked. */
describe('the guest agent client against a real qemu-ga', () => {
  const dir = tempDir('ferry-qga-');
  const socket = `${dir.path}/qga.sock`;
  let ga: ChildProcess;
  let exited: Promise<void>;
  let conn: AgentConnection;
  let agent: GuestAgent;

  const notConnected = (err: FerryError): boolean =>
    err.code === 'AGENT_UNRESPONSIVE' && err.message === 'Guest agent is not responding: QEMU guest agent is not connected';

  before(async () => {
    if (!existsSync(QEMU_GA)) throw new Error(`${QEMU_GA} is missing: apt-get install qemu-guest-agent (scripts/setup.sh does)`);
    const all = execFileSync(QEMU_GA, ['-b', 'help'], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    const blocked = all.filter((rpc) => !ALLOWED.has(rpc));
    assert.ok(blocked.includes('guest-shutdown') && blocked.includes('guest-exec') && blocked.includes('guest-set-time'));
    ga = spawn(
      QEMU_GA,
      ['-m', 'unix-listen', '-p', socket, '-t', dir.path, '-f', `${dir.path}/qga.pid`, '-l', `${dir.path}/qga.log`, '-b', blocked.join(',')],
      { stdio: 'ignore' },
    );
    exited = new Promise((resolve) => ga.once('exit', () => resolve()));
    // qemu-ga creates its socket a moment after it starts.
    for (;;) {
      try {
        conn = await AgentConnection.connect(socket, { syncTimeoutMs: 10_000, defaultTimeoutMs: 10_000 });
        break;
      } catch (err) {
        if (ga.exitCode !== null) throw new Error(`qemu-ga exited: ${readFileSync(`${dir.path}/qga.log`, 'utf8')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    agent = new GuestAgent(conn);
  });

  after(async () => {
    conn?.close();
    if (ga && ga.exitCode === null) {
      ga.kill('SIGTERM');
      await exited;
    }
    dir.cleanup();
  });

  it("ping(), info() and raw() get qemu-ga's own answers", async () => {
    await agent.ping();
    const info = await agent.info();
    const version = /Guest Agent ([\d.]+)/.exec(execFileSync(QEMU_GA, ['--version'], { encoding: 'utf8' }))?.[1];
    assert.equal(info.version, version);
    const shutdown = info.supported_commands.find((c) => c.name === 'guest-shutdown');
    assert.deepEqual(shutdown, { name: 'guest-shutdown', enabled: false, 'success-response': false });
    const reply = await agent.raw('{"execute":"guest-get-host-name"}');
    assert.deepEqual(reply, { return: { 'host-name': hostname() } });
  });

  it('networkInterfaces(), osInfo(), hostname(), users() and timezone() describe this host', async () => {
    const lo = (await agent.networkInterfaces()).find((i) => i.name === 'lo');
    assert.ok(
      lo?.['ip-addresses']?.some((a) => a['ip-address'] === '127.0.0.1' && a.prefix === 8),
      JSON.stringify(lo),
    );
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    assert.equal((await agent.osInfo()).id, /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, ''));
    assert.equal(await agent.hostname(), hostname());
    assert.ok(Array.isArray(await agent.users()));
    assert.equal((await agent.timezone()).offset, 0 - new Date().getTimezoneOffset() * 60);
    assert.equal(await agent.fsfreezeStatus(), 'thawed');
  });

  it("getTime() reads the clock between two readings of the host's", async () => {
    const before = Date.now();
    const t = await agent.getTime();
    const ms = t.seconds * 1000 + t.nseconds / 1e6;
    assert.ok(ms >= before - 1 && ms <= Date.now() + 1, `${ms} not within [${before}, now]`);
  });

  it("a blocked command fails with the agent's words, also one that answers only on failure", async () => {
    const disabled =
      (command: string) =>
      (err: FerryError): boolean =>
        err.code === 'AGENT_COMMAND_FAILED' &&
        err.message.startsWith(`internal error: unable to execute QEMU agent command '${command}': `) &&
        /disabled/.test(err.message);
    await assert.rejects(agent.setTime(), disabled('guest-set-time'));
    await assert.rejects(agent.shutdown('powerdown'), disabled('guest-shutdown'));
    await assert.rejects(agent.fsfreeze(), disabled('guest-fsfreeze-freeze'));
    await assert.rejects(agent.raw('{"execute":"guest-exec","arguments":{"path":"/bin/true"}}'), disabled('guest-exec'));
    await agent.ping(); // and the channel is still in step
  });

  it('a client that left half a command behind does not disturb the next one', async () => {
    const { createConnection } = await import('node:net');
    conn.close();
    await new Promise<void>((resolve) => {
      const s = createConnection({ path: socket }, () => s.end('{"execute":"guest-pi', () => resolve()));
    });
    conn = await AgentConnection.connect(socket);
    agent = new GuestAgent(conn);
    await agent.ping();
  });

  it('once qemu-ga is gone, commands fail with "not connected"', async () => {
    ga.kill('SIGKILL');
    await exited;
    await assert.rejects(agent.ping(), notConnected);
    await assert.rejects(AgentConnection.connect(socket), notConnected);
  });
});
