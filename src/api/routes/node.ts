import type { FastifyPluginAsync } from 'fastify';
import type { HostService } from '../../host/host-service.js';

export function nodeRoutes(service: HostService): FastifyPluginAsync {
  return async function nodeRoutesPlugin(app) {
    app.get('/node', async () => ({ node: service.nodeInfo() }));
    app.get('/node/cpu-models', async () => ({ catalog: await service.cpuCatalog() }));
    app.get('/version', async () => ({ version: await service.version() }));
  };
}
