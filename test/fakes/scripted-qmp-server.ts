import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { QemuRunState } from '../../src/qemu/monitor.js';
import type { ReplayStep, Transcript } from './qmp-transcript.js';

type QmpReply = { return: unknown } | { error: { class: string; desc: string } };
type QmpEventOut = { event: string; data?: Record<string, unknown> };

/** What the monitor does with one command instead of what the transcript says. */
export interface QmpOverride {
  /** Only the nth call of the command (1-based); every call when left out. */
  nth?: number;
  /** Answers `{ return }` with this value. */
  return?: unknown;
  /** Answers with a QMP error (QEMU's GenericError unless a class is given). */
  error?: string | { class: string; desc: string };
  /** Computes the reply (return value, or `{ error }` through `QmpError`). */
  handle?: (args: Record<string, unknown> | undefined, n: number) => unknown;
  /** Events sent right after the reply (or after the close's "no reply"). */
  events?: QmpEventOut[];
  /** Closes the connection: 'instead' of replying, or right 'after' the reply. */
  drop?: 'instead' | 'after';
  /** Never answers. */
  hang?: boolean;
}

/** A QMP error a `handle` function throws. */
export class QmpError extends Error {
  constructor(
    readonly errorClass: string,
    desc: string,
  ) {
    super(desc);
  }
}

export interface ReceivedCommand {
  execute: string;
  arguments: Record<string, unknown> | undefined;
  id: unknown;
}

export interface ScriptedQmpServerOptions {
  /** The unix socket to listen on. */
  path: string;
  /** Recorded replies and events, replayed command by command (test/fakes/qmp-transcript.ts). */
  transcript?: Transcript;
  /** The run state query-status reports at first. */
  runstate?: QemuRunState;
}

/** Commands the server answers from its own model of QEMU's run state, whatever the transcript says. */
const MODELLED = new Set(['qmp_capabilities', 'query-status', 'stop', 'cont', 'quit']);

/** Events the model sends itself (stop, cont, quit). */
const MODEL_EVENTS = new Set(['STOP', 'RESUME', 'SHUTDOWN']);

const GREETING = {
  QMP: { version: { qemu: { micro: 2, minor: 0, major: 10 }, package: 'Debian 1:10.0.2+ds-2+deb13u1~bpo12+1' }, capabilities: ['oob'] },
};

/**
 * A fake QEMU monitor on a real unix socket, for unit tests (STYLE.md 10.13): QMP's framing, greeting
 * and capability negotiation, replies by id and asynchronous events, so ferry's real QmpClient
 * connects to it unchanged. Each command is answered, in order:
 *   1. by an override (`override('query-migrate', { nth: 3, return: { status: 'failed' } })`);
 *   2. for qmp_capabilities, query-status, stop, cont and quit, by a small run-state model
 *      (STOP/RESUME events, 'postmigrate' after a completed migration, quit ends the "process");
 *   3. by the transcript: the nth call of a command gets the nth recorded reply of that command, then
 *      the recorded events that followed it; past the recorded ones, the last reply again (no events);
 *   4. else query-migrate answers {} (no migration ever ran) and any other command CommandNotFound.
 * `event()` sends an event at any time. Everything received is kept in `received`.
 */
export class ScriptedQmpServer extends EventEmitter<{ command: [ReceivedCommand]; quit: [] }> {
  readonly received: ReceivedCommand[] = [];
  runstate: QemuRunState;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly overrides: Array<{ command: string; o: QmpOverride }> = [];
  private readonly queues = new Map<string, ReplayStep[]>();
  private readonly counts = new Map<string, number>();
  private readonly transcript: Transcript | undefined;

  private constructor(
    readonly path: string,
    o: ScriptedQmpServerOptions,
  ) {
    super();
    this.runstate = o.runstate ?? 'running';
    this.transcript = o.transcript;
    if (o.transcript) this.loadSteps(o.transcript.steps);
    this.server = net.createServer((socket) => this.serve(socket));
  }

  static async listen(o: ScriptedQmpServerOptions): Promise<ScriptedQmpServer> {
    const s = new ScriptedQmpServer(o.path, o);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(o.path, () => resolve());
    });
    return s;
  }

  /** Scripts a command's reply (see QmpOverride): one for its nth call beats one for every call; else the later wins. */
  override(command: string, o: QmpOverride): this {
    this.overrides.unshift({ command, o });
    return this;
  }

  /** Sends an event to every connected client now (and applies it to the run-state model). */
  event(event: string, data: Record<string, unknown> = {}): void {
    this.applyEvent(event, data);
    const now = Date.now();
    for (const s of this.sockets) this.write(s, { event, data, timestamp: { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 } });
  }

  /** The names of the commands received, in order, without qmp_capabilities. */
  commands(): string[] {
    return this.received.map((c) => c.execute).filter((c) => c !== 'qmp_capabilities');
  }

  /** How many times a command was received. */
  count(command: string): number {
    return this.counts.get(command) ?? 0;
  }

  /** Resolves once the command has been received `n` times in all. */
  async waitFor(command: string, n = 1): Promise<void> {
    while (this.count(command) < n) await new Promise((r) => this.once('command', r));
  }

  /** Closes every client connection (the monitor goes away; the listener stays). */
  drop(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private loadSteps(steps: ReplayStep[]): void {
    let prev: ReplayStep | undefined;
    for (const step of steps) {
      if (MODELLED.has(step.execute)) {
        // The model answers these (and sends the events they cause); the other events that followed them go
        // with the command before.
        const moved = step.events.filter((e) => !MODEL_EVENTS.has(e.event));
        if (prev) prev.events = [...prev.events, ...moved];
        continue;
      }
      const copy = { ...step, events: [...step.events] };
      const q = this.queues.get(step.execute) ?? [];
      q.push(copy);
      this.queues.set(step.execute, q);
      prev = copy;
    }
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line !== '') this.onCommand(socket, JSON.parse(line) as { execute: string; arguments?: Record<string, unknown>; id?: unknown });
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    this.write(socket, this.transcript?.greeting ?? GREETING);
  }

  private onCommand(socket: net.Socket, m: { execute: string; arguments?: Record<string, unknown>; id?: unknown }): void {
    const n = (this.counts.get(m.execute) ?? 0) + 1;
    this.counts.set(m.execute, n);
    const cmd = { execute: m.execute, arguments: m.arguments, id: m.id };
    this.received.push(cmd);
    const withId = (r: QmpReply): Record<string, unknown> => (m.id === undefined ? { ...r } : { ...r, id: m.id });
    const mine = this.overrides.filter((x) => x.command === m.execute);
    const o = (mine.find((x) => x.o.nth === n) ?? mine.find((x) => x.o.nth === undefined))?.o;
    if (o) {
      this.emit('command', cmd);
      if (o.hang) return;
      if (o.drop === 'instead') return this.dropAfter(socket, o.events);
      this.write(socket, withId(this.overrideReply(o, m.arguments, n)));
      for (const e of o.events ?? []) this.event(e.event, e.data);
      if (o.drop === 'after') socket.destroy();
      return;
    }
    if (MODELLED.has(m.execute)) {
      this.emit('command', cmd);
      return this.modelled(socket, m.execute, withId);
    }
    const q = this.queues.get(m.execute);
    const step = q?.[Math.min(n, q.length) - 1];
    this.emit('command', cmd);
    if (!step && m.execute === 'query-migrate') {
      this.write(socket, withId({ return: {} })); // QEMU's answer when no migration ever ran
      return;
    }
    if (!step) {
      this.write(socket, withId({ error: { class: 'CommandNotFound', desc: `The command ${m.execute} has not been found` } }));
      return;
    }
    if (!step.reply) return; // QEMU never answered this one when it was recorded
    this.write(socket, withId(step.reply));
    if (n <= (q?.length ?? 0)) for (const e of step.events) this.recordedEvent(e.event, e.data);
  }

  private overrideReply(o: QmpOverride, args: Record<string, unknown> | undefined, n: number): QmpReply {
    if (o.error !== undefined) return { error: typeof o.error === 'string' ? { class: 'GenericError', desc: o.error } : o.error };
    if (o.handle) {
      try {
        return { return: o.handle(args, n) ?? {} };
      } catch (err) {
        if (err instanceof QmpError) return { error: { class: err.errorClass, desc: err.message } };
        throw err;
      }
    }
    return { return: o.return ?? {} };
  }

  private modelled(socket: net.Socket, execute: string, withId: (r: QmpReply) => Record<string, unknown>): void {
    switch (execute) {
      case 'query-status':
        this.write(socket, withId({ return: { running: this.runstate === 'running', singlestep: false, status: this.runstate } }));
        return;
      case 'stop':
        this.write(socket, withId({ return: {} }));
        if (this.runstate === 'running') this.event('STOP');
        return;
      case 'cont':
        if (this.runstate === 'inmigrate') {
          this.write(socket, withId({ error: { class: 'GenericError', desc: 'Migration is not finalized yet' } }));
          return;
        }
        this.write(socket, withId({ return: {} }));
        if (this.runstate !== 'running') this.event('RESUME');
        return;
      case 'quit':
        this.write(socket, withId({ return: {} }));
        this.event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
        this.runstate = 'shutdown';
        this.drop();
        this.emit('quit');
        return;
      default:
        this.write(socket, withId({ return: {} }));
    }
  }

  /** A recorded event, unless the model's run state already says it (QEMU sends no STOP when stopped). */
  private recordedEvent(event: string, data: Record<string, unknown>): void {
    if (event === 'STOP' && this.runstate !== 'running') return;
    if (event === 'RESUME' && this.runstate === 'running') return;
    this.event(event, data);
  }

  private dropAfter(socket: net.Socket, events: QmpEventOut[] | undefined): void {
    for (const e of events ?? []) this.event(e.event, e.data);
    socket.destroy();
  }

  private applyEvent(event: string, data: Record<string, unknown>): void {
    if (event === 'STOP' && this.runstate === 'running') this.runstate = 'paused';
    if (event === 'RESUME') this.runstate = 'running';
    if (event === 'MIGRATION' && data.status === 'completed') {
      if (this.runstate === 'inmigrate') this.runstate = 'paused';
      else if (this.runstate === 'paused' || this.runstate === 'finish-migrate') this.runstate = 'postmigrate';
    }
  }

  private write(socket: net.Socket, msg: object): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
  }
}
