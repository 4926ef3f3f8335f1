import { randomBytes } from 'node:crypto';
import type { DomainEvent } from '../shared/domain-events.js';

/** One published event with its id: "<run>-<seq>", the run naming this ferryd process, seq counting from 1. */
export interface EventEntry {
  id: string;
  event: DomainEvent;
}

/**
 * Why a client that asked to resume after an id cannot have every event since:
 * the id is from another run of ferryd (it restarted), or older than the
 * oldest event kept, or not an id this ferryd gave.
 */
export type EventGapReason = 'restarted' | 'expired' | 'unknown-id';

export interface EventGap {
  reason: EventGapReason;
  /** The id the client gave (Last-Event-ID). */
  lastEventId: string;
  /** The oldest event still kept (replayed from there), when there is one. */
  oldestId: string | undefined;
}

export interface EventSubscription {
  /** The events after the client's id (all those kept when there is a gap), to send before any new one. */
  replay: EventEntry[];
  /** Set when the client missed events: it should re-read what it tracks. */
  gap: EventGap | undefined;
  unsubscribe(): void;
}

/** How many recent events a ferryd keeps for clients that reconnect (Last-Event-ID). */
export const EVENT_LOG_CAPACITY = 1000;

/**
 * The recent events of this ferryd, in a bounded ring, for server-sent event
 * clients: each event gets an id, and a client that reconnects with the last
 * id it saw gets exactly the events it missed, or is told it cannot have them.
 * Replay and subscription happen together (synchronously), so no event falls
 * between the two.
 */
export class EventLog {
  private readonly ring: EventEntry[] = [];
  private seq = 0;
  private readonly listeners = new Set<(entry: EventEntry) => void>();
  /** This run of ferryd: ids from another run cannot be resumed. */
  readonly run: string;

  constructor(
    private readonly capacity = EVENT_LOG_CAPACITY,
    run?: string,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event log capacity must be a positive integer, not ${capacity}`);
    this.run = run ?? `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  }

  append(event: DomainEvent): EventEntry {
    const entry = { id: `${this.run}-${++this.seq}`, event };
    this.ring.push(entry);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) l(entry);
    return entry;
  }

  /** Starts delivering new events to `listener`; with `lastEventId`, first gives the events after it (or says they are gone). */
  subscribe(lastEventId: string | undefined, listener: (entry: EventEntry) => void): EventSubscription {
    const { replay, gap } = lastEventId === undefined ? { replay: [], gap: undefined } : this.since(lastEventId);
    this.listeners.add(listener);
    return { replay, gap, unsubscribe: () => void this.listeners.delete(listener) };
  }

  /** The events after `lastEventId`, or every kept event and the reason some are missing. */
  since(lastEventId: string): { replay: EventEntry[]; gap: EventGap | undefined } {
    const oldestId = this.ring[0]?.id;
    const all = (reason: EventGapReason) => ({ replay: [...this.ring], gap: { reason, lastEventId, oldestId } });
    const m = /^(.+)-(\d+)$/.exec(lastEventId);
    if (!m) return all('unknown-id');
    if (m[1] !== this.run) return all('restarted');
    const seq = Number(m[2]);
    if (seq > this.seq) return all('unknown-id');
    const firstKept = this.seq - this.ring.length + 1;
    // Resuming is exact when the next event the client needs (seq + 1) is still kept, or none has happened since.
    if (seq + 1 < firstKept) return all('expired');
    return { replay: this.ring.slice(seq + 1 - firstKept), gap: undefined };
  }
}
