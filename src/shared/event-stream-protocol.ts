/**
 * GET /v1/events (server-sent events), shared by ferryd and the CLI. Each
 * event is `id: <id>`, `event: <type>`, `data: <JSON>`. A client that
 * reconnects sends the last id it saw as Last-Event-ID and gets the events it
 * missed first. When ferryd cannot give them all (it restarted, or the id is
 * older than the events it keeps), the stream says so: the response carries
 * the EVENTS_LOST_HEADER (its value the reason) and its first event is an
 * EVENTS_LOST_EVENT, followed by every event still kept.
 */
export const EVENTS_PATH = '/v1/events';
export const LAST_EVENT_ID_HEADER = 'last-event-id';
export const EVENTS_LOST_HEADER = 'ferry-events-lost';
export const EVENTS_LOST_EVENT = 'ferry.events-lost';
/** What the client waits before reconnecting (the SSE `retry:` field), in ms. */
export const EVENTS_RETRY_MS = 1000;

/** The data of an EVENTS_LOST_EVENT. */
export interface EventsLost {
  type: typeof EVENTS_LOST_EVENT;
  reason: 'restarted' | 'expired' | 'unknown-id';
  lastEventId: string;
  /** The oldest event the stream replays from, if any. */
  oldestId: string | null;
}
