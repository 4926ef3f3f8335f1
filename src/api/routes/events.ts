import type { FastifyPluginAsync } from 'fastify';
import type { EventEntry } from '../../host/event-log.js';
import type { HostService } from '../../host/host-service.js';
import { EVENTS_LOST_EVENT, EVENTS_LOST_HEADER, EVENTS_RETRY_MS, type EventsLost, LAST_EVENT_ID_HEADER } from '../../shared/event-stream-protocol.js';

/** One server-sent event: `id:` (to resume from), `event:` its type, one `data:` line of JSON. */
const frame = (e: EventEntry): string => `id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`;

/**
 * Server-sent events: each domain event with its id, and a comment every 15 s
 * to keep proxies awake. A client that sends Last-Event-ID gets the events it
 * missed first, or is told it lost some (shared/event-stream-protocol.ts).
 */
export function eventRoutes(service: HostService): FastifyPluginAsync {
  return async function eventRoutesPlugin(app) {
    app.get('/events', async (request, reply) => {
      const asked = request.headers[LAST_EVENT_ID_HEADER];
      const lastEventId = typeof asked === 'string' && asked !== '' ? asked : undefined;
      reply.hijack();
      const res = reply.raw;
      const send = (e: EventEntry): void => void res.write(frame(e));
      const sub = service.events.subscribe(lastEventId, send);
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        ...(sub.gap ? { [EVENTS_LOST_HEADER]: sub.gap.reason } : {}),
      });
      res.write(`: ferry events\nretry: ${EVENTS_RETRY_MS}\n\n`);
      if (sub.gap) {
        const lost: EventsLost = { type: EVENTS_LOST_EVENT, reason: sub.gap.reason, lastEventId: sub.gap.lastEventId, oldestId: sub.gap.oldestId ?? null };
        res.write(`event: ${EVENTS_LOST_EVENT}\ndata: ${JSON.stringify(lost)}\n\n`);
      }
      for (const e of sub.replay) send(e);
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15_000);
      request.raw.on('close', () => {
        clearInterval(keepalive);
        sub.unsubscribe();
      });
    });
  };
}
