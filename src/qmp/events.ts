import { QmpDisconnectedError, QmpTimeoutError } from './errors.js';

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** The data of the events ferry acts on, by name (QEMU 10.0 qapi/*.json). */
export interface QmpEventData {
  STOP: Record<string, never>;
  RESUME: Record<string, never>;
  POWERDOWN: Record<string, never>;
  SHUTDOWN: { guest: boolean; reason: string };
  RESET: { guest: boolean; reason: string };
  GUEST_PANICKED: { action: string; info?: Record<string, unknown> };
  MIGRATION: { status: string };
  MIGRATION_PASS: { pass: number };
  JOB_STATUS_CHANGE: { id: string; status: string };
  BLOCK_JOB_READY: { type: string; device: string; len: number; offset: number; speed: number };
  BLOCK_JOB_COMPLETED: { type: string; device: string; len: number; offset: number; speed: number; error?: string };
  BLOCK_JOB_ERROR: { device: string; operation: string; action: string };
}

export type QmpEventName = keyof QmpEventData;

/** An event as QEMU sent it. Known names narrow `data` through QmpEventData. */
export type QmpEvent<N extends string = string> = {
  event: N;
  data: N extends QmpEventName ? QmpEventData[N] : Record<string, unknown>;
  timestamp: QmpTimestamp;
};

/** Decodes one message into an event, or undefined when it is not one. */
export function decodeEvent(message: Record<string, unknown>): QmpEvent | undefined {
  if (typeof message.event !== 'string') return undefined;
  const data = message.data && typeof message.data === 'object' ? (message.data as Record<string, unknown>) : {};
  const ts = (message.timestamp ?? {}) as Partial<QmpTimestamp>;
  return {
    event: message.event,
    data,
    timestamp: { seconds: Number(ts.seconds ?? 0), microseconds: Number(ts.microseconds ?? 0) },
  };
}

export type EventFilter = readonly string[] | ((event: QmpEvent) => boolean);

export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * A queue of the events that match a filter. It receives its own copy of every
 * matching event from the moment it is created, so a listener made before a
 * command is sent cannot miss the event that the command triggers.
 */
export class QmpEventListener {
  private readonly queue: QmpEvent[] = [];
  private readonly waiters = new Set<{ resolve: (e: QmpEvent) => void; reject: (err: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;
  private readonly matches: (event: QmpEvent) => boolean;

  constructor(
    filter: EventFilter,
    private readonly detach: (l: QmpEventListener) => void,
  ) {
    this.matches = typeof filter === 'function' ? filter : (e) => filter.length === 0 || filter.includes(e.event);
  }

  /** Called by the client for every event it receives. */
  deliver(event: QmpEvent): void {
    if (this.closed || !this.matches(event)) return;
    const copy = structuredClone(event);
    const waiter = this.waiters.values().next().value;
    if (waiter) {
      this.waiters.delete(waiter);
      waiter.resolve(copy);
    } else {
      this.queue.push(copy);
    }
  }

  /** Called by the client when the connection ends: pending and later waits fail. */
  fail(err: Error): void {
    this.failure = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters.clear();
  }

  /** The next matching event; buffered events come first. */
  next(options: WaitOptions = {}): Promise<QmpEvent> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new QmpDisconnectedError('event listener is closed'));
    return new Promise<QmpEvent>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
      };
      const waiter = {
        resolve: (e: QmpEvent) => {
          cleanup();
          resolve(e);
        },
        reject: (err: Error) => {
          cleanup();
          reject(err);
        },
      };
      const onAbort = (): void => waiter.reject(options.signal?.reason as Error);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        timer = setTimeout(() => waiter.reject(new QmpTimeoutError('waiting for a QMP event', ms)), ms);
      }
      this.waiters.add(waiter);
    });
  }

  /** Waits for the first matching event that also satisfies `predicate`, dropping the others. */
  async waitFor(predicate: (e: QmpEvent) => boolean, options: WaitOptions = {}): Promise<QmpEvent> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    for (;;) {
      const remaining = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      const e = await this.next({ ...options, ...(remaining === undefined ? {} : { timeoutMs: remaining }) });
      if (predicate(e)) return e;
    }
  }

  /** Events received and not yet taken. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fail(new QmpDisconnectedError('event listener is closed'));
    this.detach(this);
  }
}
