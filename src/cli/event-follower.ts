import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../errors/ferry-error.js';
import { EVENTS_LOST_EVENT, EVENTS_RETRY_MS, type EventsLost } from '../shared/event-stream-protocol.js';
import type { EventFrame } from '../transport/http-call.js';

/** The part of ApiClient the follower uses. */
export interface EventSource {
  eventStream(onFrame: (data: string, frame: EventFrame) => void, o: { signal?: AbortSignal; lastEventId?: string; onOpen?: () => void }): Promise<void>;
}

export interface FollowOptions {
  signal: AbortSignal;
  onEvent: (event: Record<string, unknown>) => void;
  /** ferryd could not give every event since the last one seen (it restarted, or too many happened). */
  onLost: (lost: EventsLost) => void;
  /** The stream dropped (the error, if there was one); the follower reconnects. Called once per outage. */
  onDropped: (err: FerryError | undefined) => void;
  /** The stream is back after a drop. */
  onResumed: () => void;
  retryMs?: number;
}

/**
 * Follows ferryd's event stream until `signal` aborts, across drops: after a
 * drop (ferryd restarting, a connection reset) it reconnects with the last
 * event id seen as Last-Event-ID, so the events in between arrive first and
 * none is printed twice. The first connection's failure is thrown as it is
 * (nothing to resume); so is a refusal by the daemon (an HTTP error).
 */
export async function followEvents(source: EventSource, o: FollowOptions): Promise<void> {
  let lastEventId: string | undefined;
  let everOpened = false;
  let dropped = false;
  while (!o.signal.aborted) {
    try {
      await source.eventStream(
        (data, frame) => {
          if (frame.id !== undefined) lastEventId = frame.id;
          const parsed = JSON.parse(data) as Record<string, unknown>;
          if (frame.event === EVENTS_LOST_EVENT) o.onLost(parsed as unknown as EventsLost);
          else o.onEvent(parsed);
        },
        {
          signal: o.signal,
          ...(lastEventId !== undefined ? { lastEventId } : {}),
          onOpen: () => {
            everOpened = true;
            if (dropped) o.onResumed();
            dropped = false;
          },
        },
      );
      if (o.signal.aborted) return;
      if (!dropped) o.onDropped(undefined);
    } catch (err) {
      if (o.signal.aborted) return;
      const reconnectable = everOpened && err instanceof FerryError && (err.code === 'CONNECT_FAILED' || err.code === 'CONNECTION_LOST');
      if (!reconnectable) throw err;
      if (!dropped) o.onDropped(err);
    }
    dropped = true;
    try {
      await sleep(o.retryMs ?? EVENTS_RETRY_MS, undefined, { signal: o.signal });
    } catch {
      return; // aborted while waiting
    }
  }
}
