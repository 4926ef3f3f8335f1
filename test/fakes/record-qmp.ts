/**
 * Records QMP transcripts from real QEMU for the scripted monitor (test/fakes/scripted-qmp-server.ts).
 *
 *   npx tsc -p tsconfig.json && node dist/test/fakes/record-qmp.js [scenario...]
 *
 * Starts small TCG guests (qemu-system-x86_64 from PATH, no disk, 64 MiB), drives their monitors with
 * ferry's own QmpClient through a recording proxy, in the order ferry's migration code sends the commands
 * (source.ts: capabilities, parameters, migrate, query-migrate passes woken by MIGRATION events;
 * destination.ts: capabilities, parameters, migrate-incoming, query-migrate, cont), and writes one
 * JSONL file per monitor to test/fixtures/qmp/ (see README.md there). Every QEMU it starts is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationMonitor } from '../../src/qemu/migration-monitor.js';
import { QemuMonitor } from '../../src/qemu/monitor.js';
import { connectQmpSocket } from '../../src/qmp/transport.js';
import { TRANSCRIPT_DIR, type TranscriptLine } from './qmp-transcript.js';

/** A proxy between a client and QEMU's monitor socket that keeps every line, in order. */
export class QmpRecorder {
  readonly lines: TranscriptLine[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private start = 0;

  constructor(
    readonly path: string,
    private readonly target: string,
  ) {
    this.server = net.createServer((client) => this.proxy(client));
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, () => resolve()));
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  save(name: string, meta: Record<string, unknown>): void {
    const all: TranscriptLine[] = [{ dir: 'meta', msg: meta }, ...this.lines];
    writeFileSync(new URL(`${name}.jsonl`, TRANSCRIPT_DIR), all.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  private proxy(client: net.Socket): void {
    this.start = Date.now();
    const qemu = net.createConnection({ path: this.target });
    this.sockets.add(client).add(qemu);
    this.pipe(client, qemu, () => 'out');
    this.pipe(qemu, client, (m) => (typeof m.event === 'string' ? 'event' : 'in'));
    const end = (): void => {
      client.destroy();
      qemu.destroy();
    };
    client.on('close', end).on('error', end);
    qemu.on('close', end).on('error', end);
  }

  private pipe(from: net.Socket, to: net.Socket, dir: (m: Record<string, unknown>) => TranscriptLine['dir']): void {
    let buffer = '';
    from.on('data', (chunk) => {
      to.write(chunk);
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        this.lines.push({ dir: dir(msg), ms: Date.now() - this.start, msg });
      }
    });
  }
}

/** ferry's capabilities and parameters for a default live migration (migrationTuning() of the default options). */
const CAPS = { events: true, 'pause-before-switchover': false, multifd: true, xbzrle: false, 'auto-converge': false, 'postcopy-ram': false };
const SHARED = { 'multifd-channels': 2, 'multifd-compression': 'none' };
const FAST = { 'max-bandwidth': 1024 * 1024 * 1024, 'downtime-limit': 300 };
/** Slow enough that a migration is still active when it is cancelled, or its destination killed. */
const SLOW = { 'max-bandwidth': 32 * 1024, 'downtime-limit': 300 };

interface Qemu {
  child: ChildProcess;
  recorder: QmpRecorder;
  monitor: QemuMonitor;
  mm: MigrationMonitor;
}

class Lab {
  readonly dir = mkdtempSync(join(tmpdir(), 'ferry-qmp-rec-'));
  private readonly qemus: Qemu[] = [];
  private n = 0;

  async qemu(o: { incoming?: boolean } = {}): Promise<Qemu> {
    const i = this.n++;
    const socket = join(this.dir, `qemu${i}.sock`);
    const args = [
      '-machine',
      'pc,accel=tcg',
      '-m',
      '64',
      '-nodefaults',
      '-display',
      'none',
      '-no-user-config',
      '-uuid',
      '6f2a1c2e-0000-4000-8000-000000000001',
      '-chardev',
      `socket,id=mon,path=${socket},server=on,wait=off`,
      '-mon',
      'chardev=mon,mode=control',
      ...(o.incoming ? ['-S', '-incoming', 'defer'] : []),
    ];
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    // Wait until QEMU's socket accepts, then put the recorder in front of it.
    (await connectQmpSocket(socket, { timeoutMs: 20_000 })).close();
    const recorder = new QmpRecorder(join(this.dir, `rec${i}.sock`), socket);
    await recorder.listen();
    const monitor = await QemuMonitor.open(await connectQmpSocket(recorder.path, { timeoutMs: 5000 }), { timeoutMs: 20_000 });
    const q = { child, recorder, monitor, mm: new MigrationMonitor(monitor) };
    this.qemus.push(q);
    return q;
  }

  async quit(q: Qemu): Promise<void> {
    const exited = new Promise((r) => (q.child.exitCode !== null ? r(undefined) : q.child.once('exit', r)));
    await q.monitor.quit().catch(() => undefined);
    await exited;
    q.monitor.close();
  }

  async close(): Promise<void> {
    for (const q of this.qemus) {
      q.monitor.close();
      q.recorder.close();
      if (q.child.exitCode === null && q.child.signalCode === null) {
        const gone = new Promise((r) => q.child.once('exit', r));
        q.child.kill('SIGKILL');
        await gone;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Follows the source as followMigration() does: query-migrate, then wait for a MIGRATION event or 100 ms. */
async function follow(q: Qemu, until: (status: string, pass: number) => boolean | Promise<boolean>): Promise<string> {
  const events = q.monitor.listen(['MIGRATION']);
  try {
    for (let pass = 1; ; pass++) {
      const status = (await q.mm.query()).status ?? 'none';
      if (await until(status, pass)) return status;
      await events.next({ timeoutMs: 100 }).catch(() => undefined);
    }
  } finally {
    events.close();
  }
}

async function listeningPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function prepareDestination(lab: Lab): Promise<{ dst: Qemu; uri: string }> {
  const dst = await lab.qemu({ incoming: true });
  await dst.mm.setCapabilities(CAPS);
  await dst.mm.setParameters(SHARED);
  const uri = `tcp:127.0.0.1:${await listeningPort()}`;
  await dst.mm.incoming(uri);
  return { dst, uri };
}

async function startSource(lab: Lab, params: Record<string, unknown>, caps: Record<string, boolean> = CAPS): Promise<Qemu> {
  const src = await lab.qemu();
  await src.monitor.queryStatus();
  await src.mm.setCapabilities(caps);
  await src.mm.setParameters({ ...SHARED, ...params });
  return src;
}

const finalStates = new Set(['completed', 'failed', 'cancelled']);

const scenarios: Record<string, (lab: Lab, meta: (what: string) => Record<string, unknown>) => Promise<void>> = {
  /** A live migration that completes: the source monitor and the incoming one. */
  async success(lab, meta) {
    const { dst, uri } = await prepareDestination(lab);
    const src = await startSource(lab, FAST);
    await src.mm.migrate(uri);
    await follow(src, (s) => finalStates.has(s));
    await src.monitor.queryStatus();
    await follow(dst, (s) => finalStates.has(s) || s === 'none');
    await dst.monitor.queryStatus();
    const resumed = dst.monitor.listen(['RESUME']);
    await dst.monitor.cont();
    await resumed.next({ timeoutMs: 10_000 });
    resumed.close();
    await dst.monitor.queryStatus();
    await lab.quit(src);
    await lab.quit(dst);
    src.recorder.save('migrate-source-completed', meta('source side of a live migration that completes, then quit'));
    dst.recorder.save('migrate-destination-completed', meta('destination side (-incoming defer) of that migration: resumed with cont, then quit'));
  },

  /** With pause-before-switchover (ferry's lease hand-over): the source stops at pre-switchover, then migrate-continue. */
  async switchover(lab, meta) {
    const { dst, uri } = await prepareDestination(lab);
    const src = await startSource(lab, FAST, { ...CAPS, 'pause-before-switchover': true });
    await src.mm.migrate(uri);
    let continued = false;
    await follow(src, async (s) => {
      if (s === 'pre-switchover' && !continued) {
        continued = true;
        await src.mm.continueFromPreSwitchover();
      }
      return finalStates.has(s);
    });
    await src.monitor.queryStatus();
    await lab.quit(src);
    await lab.quit(dst);
    src.recorder.save('migrate-source-switchover', meta('source side with pause-before-switchover: STOP, pre-switchover, migrate-continue, completed'));
  },

  /** Cancelled while active (virsh domjobabort): the source keeps running. */
  async cancel(lab, meta) {
    const { dst, uri } = await prepareDestination(lab);
    const src = await startSource(lab, SLOW);
    await src.mm.migrate(uri);
    let sent = false;
    await follow(src, async (s, pass) => {
      if (s === 'active' && pass >= 3 && !sent) {
        sent = true;
        await src.mm.cancel();
      }
      return finalStates.has(s);
    });
    await src.monitor.queryStatus();
    await lab.quit(src);
    // QEMU exits when its incoming migration fails: its monitor closes under the query.
    await follow(dst, (s) => finalStates.has(s) || s === 'none').catch(() => undefined);
    await lab.quit(dst);
    src.recorder.save('migrate-source-cancelled', meta('source side of a live migration cancelled while active (migrate_cancel), then quit'));
    dst.recorder.save(
      'migrate-destination-cancelled',
      meta('destination side of that migration: the stream stops, the incoming migration fails and QEMU exits'),
    );
  },

  /** Cancelled at pre-switchover, with the source stopped: QEMU resumes it (STOP, then RESUME). */
  async 'cancel-switchover'(lab, meta) {
    const { uri } = await prepareDestination(lab);
    const src = await startSource(lab, FAST, { ...CAPS, 'pause-before-switchover': true });
    await src.mm.migrate(uri);
    let sent = false;
    await follow(src, async (s) => {
      if (s === 'pre-switchover' && !sent) {
        sent = true;
        await src.mm.cancel();
      }
      return finalStates.has(s);
    });
    await src.monitor.queryStatus();
    await lab.quit(src);
    src.recorder.save('migrate-source-cancelled-switchover', meta('source side cancelled at pre-switchover (vCPUs stopped): QEMU resumes them'));
  },

  /** The destination QEMU is killed mid-stream: the source's migration fails, the source keeps running. */
  async failed(lab, meta) {
    const { dst, uri } = await prepareDestination(lab);
    const src = await startSource(lab, SLOW);
    await src.mm.migrate(uri);
    let killed = false;
    await follow(src, (s, pass) => {
      if (s === 'active' && pass >= 3 && !killed) {
        killed = true;
        dst.child.kill('SIGKILL');
      }
      return finalStates.has(s);
    });
    await src.monitor.queryStatus();
    await lab.quit(src);
    src.recorder.save('migrate-source-failed', meta('source side of a live migration whose destination QEMU is killed (SIGKILL) while active'));
  },
};

async function main(): Promise<void> {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(scenarios);
  const version = (
    await new Promise<string>((resolve) => {
      const c = spawn('qemu-system-x86_64', ['--version']);
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('close', () => resolve(out.split('\n')[0] ?? ''));
    })
  ).trim();
  for (const name of names) {
    const run = scenarios[name];
    if (!run) throw new Error(`unknown scenario ${name}: one of ${Object.keys(scenarios).join(', ')}`);
    const lab = new Lab();
    try {
      const recorded = new Date().toISOString().slice(0, 10);
      await run(lab, (what) => ({ scenario: name, what, qemu: version, accel: 'tcg', recorded, by: 'node dist/test/fakes/record-qmp.js' }));
      console.log(`recorded ${name}`);
    } finally {
      await lab.close();
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
