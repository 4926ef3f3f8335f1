import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { agentCommandFailed, agentNotConnected, agentProtocol, agentTimedOut } from './errors.js';
import { type AgentFrame, AgentFramer } from './framing.js';

export interface AgentConnectionOptions {
  /** How long the guest-sync-delimited handshake before each command may take (libvirt: 5 s). */
  syncTimeoutMs?: number;
  /** A command's timeout when execute() is given none. */
  defaultTimeoutMs?: number;
}

export interface AgentExecuteOptions {
  /** This command's own timeout (the sync before it has its own); 0 waits forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A reply of qemu-ga: {"return": ...} (an error reply becomes AGENT_COMMAND_FAILED). */
export interface AgentReply {
  return: unknown;
}

export interface AgentConnectionEvents {
  close: [error: Error | undefined];
}

interface Waiter {
  accept(frame: AgentFrame): boolean;
  fail(err: Error, closed: boolean): void;
}

/**
 * One connection to qemu-ga's channel (the unix socket QEMU serves for the
 * org.qemu.guest_agent.0 port). Commands run one at a time; each is preceded by a
 * guest-sync-delimited handshake with a fresh id, and every line before its delimited
 * answer is skipped: whatever an earlier client or a timed-out command left in the
 * stream, and qemu-ga's complaint about the 0xFF that resets its parser. A command that gives no reply on
 * success (guest-shutdown, guest-suspend-*) is followed by a plain guest-sync: an
 * error before its answer is the command's.
 */
export class AgentConnection extends EventEmitter<AgentConnectionEvents> {
  private readonly framer = new AgentFramer();
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed_ = false;
  private readonly syncTimeoutMs: number;
  private readonly defaultTimeoutMs: number;

  constructor(
    private readonly socket: net.Socket,
    options: AgentConnectionOptions = {},
  ) {
    super();
    this.syncTimeoutMs = options.syncTimeoutMs ?? 5000;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish(undefined));
  }

  /** Connects to the channel's unix socket (QEMU is the server). */
  static connect(path: string, options: AgentConnectionOptions & { signal?: AbortSignal } = {}): Promise<AgentConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path });
      const onAbort = (): void => {
        socket.destroy();
        reject(options.signal?.reason);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve(new AgentConnection(socket, options));
      });
      socket.once('error', (err) => {
        options.signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(agentNotConnected(err));
      });
    });
  }

  get closed(): boolean {
    return this.closed_;
  }

  /** Runs one command and returns its "return" value. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, options: AgentExecuteOptions = {}): Promise<T> {
    const reply = await this.request(command, args, options);
    return reply.return as T;
  }

  /** Runs one command and returns qemu-ga's whole reply ({"return": ...}). */
  request(command: string, args?: Record<string, unknown>, options: AgentExecuteOptions = {}): Promise<AgentReply> {
    return this.enqueue(() => this.run(command, args, options));
  }

  /** Sends a command that answers only on failure (guest-shutdown): resolves when the agent takes it. */
  executeNoReply(command: string, args?: Record<string, unknown>, options: AgentExecuteOptions = {}): Promise<void> {
    return this.enqueue(() => this.runNoReply(command, args, options));
  }

  close(): void {
    this.socket.destroy();
    this.finish(undefined);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(command: string, args: Record<string, unknown> | undefined, options: AgentExecuteOptions): Promise<AgentReply> {
    await this.sync(options.signal);
    this.write(`${encode(command, args)}\n`);
    const frame = await this.waitFor(command, options.timeoutMs ?? this.defaultTimeoutMs, options.signal, () => true);
    return replyOf(command, frame);
  }

  private async runNoReply(command: string, args: Record<string, unknown> | undefined, options: AgentExecuteOptions): Promise<void> {
    await this.sync(options.signal);
    const id = randomInt(1, 2 ** 31);
    this.write(`${encode(command, args)}\n${encode('guest-sync', { id })}\n`);
    let frame: AgentFrame;
    try {
      frame = await this.waitFor(command, options.timeoutMs ?? this.defaultTimeoutMs, options.signal, () => true);
    } catch (err) {
      // The guest went down (the channel closed) or is busy going down: the command was taken.
      if ((err as { code?: string }).code === 'AGENT_UNRESPONSIVE') return;
      throw err;
    }
    const value = frame.value as { return?: unknown } | undefined;
    if (value && typeof value === 'object' && value.return === id) return;
    replyOf(command, frame); // an error reply throws; anything else is the protocol's break
    throw agentProtocol(`unexpected reply to '${command}': ${frame.text.slice(0, 200)}`);
  }

  /** guest-sync-delimited with a fresh id: 0xFF resets qemu-ga's parser, 0xFF precedes its answer. */
  private async sync(signal: AbortSignal | undefined): Promise<void> {
    if (this.closed_) throw agentNotConnected();
    const id = randomInt(1, 2 ** 31);
    this.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${encode('guest-sync-delimited', { id })}\n`)]));
    await this.waitFor('guest-sync-delimited', this.syncTimeoutMs, signal, (f) => {
      const v = f.value as { return?: unknown } | undefined;
      return f.delimited && typeof v === 'object' && v !== null && v.return === id;
    });
  }

  private write(data: string | Buffer): void {
    if (!this.closed_) this.socket.write(data);
  }

  private waitFor(command: string, timeoutMs: number, signal: AbortSignal | undefined, match: (frame: AgentFrame) => boolean): Promise<AgentFrame> {
    return new Promise((resolve, reject) => {
      if (this.closed_) return reject(agentNotConnected());
      if (signal?.aborted) return reject(signal.reason);
      const timer = timeoutMs > 0 ? setTimeout(() => done(agentTimedOut(command, timeoutMs)), timeoutMs) : undefined;
      const onAbort = (): void => done(signal?.reason as Error);
      const done = (err: Error | undefined, frame?: AgentFrame): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (err) reject(err);
        else resolve(frame as AgentFrame);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = {
        accept: (frame) => {
          if (!match(frame)) return false;
          done(undefined, frame);
          return true;
        },
        fail: (err) => done(err),
      };
    });
  }

  private onData(chunk: Buffer): void {
    let frames: AgentFrame[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.waiter?.fail(agentProtocol((err as Error).message, err), false);
      return;
    }
    for (const frame of frames) this.waiter?.accept(frame);
  }

  private finish(err: Error | undefined): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.waiter?.fail(agentNotConnected(err), true);
    this.emit('close', err);
  }
}

/** A reply frame as qemu-ga's {"return"} or {"error"}; anything else breaks the protocol. */
function replyOf(command: string, frame: AgentFrame): AgentReply {
  const v = frame.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw agentProtocol(`cannot parse the guest agent's reply to '${command}': ${frame.text.slice(0, 200)}`);
  }
  const msg = v as { return?: unknown; error?: { class?: string; desc?: string } };
  if ('error' in msg) throw agentCommandFailed(command, msg.error?.class ?? 'GenericError', msg.error?.desc ?? 'unknown error');
  if ('return' in msg) return { return: msg.return };
  throw agentProtocol(`reply to '${command}' has neither return nor error: ${frame.text.slice(0, 200)}`);
}

/** {"execute", "arguments"} as JSON; a bigint (nanoseconds since the epoch) is written as an exact integer. */
function encode(command: string, args: Record<string, unknown> | undefined): string {
  const message = args === undefined ? { execute: command } : { execute: command, arguments: args };
  return JSON.stringify(message, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000bigint:${v}` : v)).replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}
