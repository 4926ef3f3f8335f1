import { EventEmitter } from 'node:events';
import { QmpCommandError, QmpDisconnectedError, QmpProtocolError, QmpStateError, QmpTimeoutError } from './errors.js';
import { decodeEvent, type EventFilter, type QmpEvent, QmpEventListener } from './events.js';
import type { QmpTransport } from './transport.js';

export type Runstate = 'idle' | 'connecting' | 'running' | 'disconnecting';

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

export interface QmpClientEvents {
  runstate: [state: Runstate];
  event: [event: QmpEvent];
  /** The connection ended; `error` is set when it was not our own disconnect(). */
  disconnect: [error: Error | undefined];
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  /** Overrides the client's default command timeout; 0 waits forever. */
  timeoutMs?: number;
}

interface Pending {
  command: string;
  sent: unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * A QMP client: greeting and capability negotiation, execute() with replies
 * routed by id, events fanned out to listeners, and every pending call failed
 * when the connection drops. It speaks to whatever QmpTransport it is given.
 */
export class QmpClient extends EventEmitter<QmpClientEvents> {
  private state: Runstate = 'idle';
  private transport: QmpTransport | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners_ = new Set<QmpEventListener>();
  private nextId = 1;
  private greeting_: QmpGreeting | undefined;
  private readonly defaultTimeoutMs: number;
  private readonly idPrefix: string;

  constructor(options: { defaultTimeoutMs?: number; idPrefix?: string } = {}) {
    super();
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.idPrefix = options.idPrefix ?? 'ferry';
  }

  get runstate(): Runstate {
    return this.state;
  }

  get greeting(): QmpGreeting | undefined {
    return this.greeting_;
  }

  /** Takes over a connected transport: waits for the greeting and negotiates capabilities. */
  async connect(transport: QmpTransport, options: ExecuteOptions = {}): Promise<QmpGreeting> {
    this.require('idle');
    this.setState('connecting');
    this.transport = transport;
    const greeting = new Promise<QmpGreeting>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
      const timer = timeoutMs > 0 ? setTimeout(() => fail(new QmpTimeoutError('waiting for the QMP greeting', timeoutMs)), timeoutMs) : undefined;
      const onAbort = (): void => fail(options.signal?.reason as Error);
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        transport.off('message', onMessage);
        transport.off('close', onClose);
      };
      const fail = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const onMessage = (msg: Record<string, unknown>): void => {
        cleanup();
        const qmp = msg.QMP as QmpGreeting | undefined;
        if (!qmp || typeof qmp !== 'object' || !qmp.version) {
          reject(new QmpProtocolError(`expected the QMP greeting, got ${JSON.stringify(msg).slice(0, 200)}`));
        } else {
          resolve(qmp);
        }
      };
      const onClose = (err: Error | undefined): void => fail(new QmpDisconnectedError('connection closed before the QMP greeting', { cause: err }));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      transport.on('message', onMessage);
      transport.on('close', onClose);
    });
    try {
      this.greeting_ = await greeting;
      transport.on('message', (msg) => this.onMessage(msg));
      transport.on('close', (err) => this.onClose(err));
      await this.send('qmp_capabilities', undefined, options);
      this.setState('running');
      return this.greeting_;
    } catch (err) {
      this.transport = undefined;
      transport.close();
      this.failAll(err as Error);
      this.setState('idle');
      throw err;
    }
  }

  /** Runs a command and returns its "return" value; QEMU's errors become QmpCommandError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<T> {
    this.require('running');
    return this.send(command, args, options) as Promise<T>;
  }

  /**
   * A listener for events that match `filter`, receiving events from now on.
   * Create it before sending the command that triggers the event, and close it.
   */
  listen(filter: EventFilter = []): QmpEventListener {
    const listener = new QmpEventListener(filter, (l) => this.listeners_.delete(l));
    this.listeners_.add(listener);
    return listener;
  }

  /** Closes the connection; pending calls fail with QmpDisconnectedError. */
  disconnect(): void {
    if (this.state === 'idle') return;
    this.setState('disconnecting');
    const transport = this.transport;
    this.transport = undefined;
    transport?.close();
    this.finish(undefined);
  }

  private send(command: string, args: Record<string, unknown> | undefined, options: ExecuteOptions): Promise<unknown> {
    const transport = this.transport;
    if (!transport) return Promise.reject(new QmpDisconnectedError(`cannot send ${command}: not connected`));
    const id = `${this.idPrefix}#${String(this.nextId++).padStart(5, '0')}`;
    const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      const onAbort = (): void => {
        cleanup();
        reject(options.signal?.reason as Error);
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          cleanup();
          reject(new QmpTimeoutError(`QMP command ${command}`, timeoutMs));
        }, timeoutMs);
      }
      this.pending.set(id, {
        command,
        sent: message,
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      transport.send(message);
    });
  }

  private onMessage(msg: Record<string, unknown>): void {
    const event = decodeEvent(msg);
    if (event) {
      for (const l of this.listeners_) l.deliver(event);
      this.emit('event', event);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (!entry) return; // a reply to a call that timed out or was aborted
    if ('error' in msg) {
      const e = (msg.error ?? {}) as { class?: string; desc?: string };
      entry.reject(
        new QmpCommandError({
          command: entry.command,
          errorClass: e.class ?? 'GenericError',
          desc: e.desc ?? 'unknown error',
          sent: entry.sent,
        }),
      );
    } else if ('return' in msg) {
      entry.resolve(msg.return);
    } else {
      entry.reject(new QmpProtocolError(`reply without return or error: ${JSON.stringify(msg).slice(0, 200)}`));
    }
  }

  private onClose(err: Error | undefined): void {
    if (this.state === 'idle' || this.state === 'disconnecting') return;
    this.transport = undefined;
    this.finish(err ?? new QmpDisconnectedError('QMP connection closed'));
  }

  private finish(err: Error | undefined): void {
    const reason = new QmpDisconnectedError(err ? `QMP connection lost: ${err.message}` : 'QMP connection closed', {
      cause: err,
    });
    this.failAll(reason);
    for (const l of this.listeners_) l.fail(reason);
    this.listeners_.clear();
    this.setState('idle');
    this.emit('disconnect', err);
  }

  private failAll(err: Error): void {
    for (const entry of [...this.pending.values()]) entry.reject(err);
    this.pending.clear();
  }

  private setState(state: Runstate): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('runstate', state);
  }

  private require(...states: Runstate[]): void {
    if (!states.includes(this.state)) throw new QmpStateError(this.state, states);
  }
}
