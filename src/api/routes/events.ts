import type { FastifyPluginAsync } from 'fastify';
import type { DomainEvent } from '../../host/domain-events.js';
import type { HostService } from '../../host/host-service.js';

/** Server-sent events: one `data:` line of JSON per domain event, and a comment every 15 s to keep proxies awake. */
export function eventRoutes(service: HostService): FastifyPluginAsync {
  return async function eventRoutesPlugin(app) {
    app.get('/events', async (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': ferry events\n\n');
      const onEvent = (e: DomainEvent): void => void res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15_000);
      service.on('domain', onEvent);
      request.raw.on('close', () => {
        clearInterval(keepalive);
        service.off('domain', onEvent);
      });
    });
  };
}
