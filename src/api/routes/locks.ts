import type { FastifyPluginAsync } from 'fastify';
import type { LockService } from '../../host/lock-service.js';
import { arrayOf, bool, nonEmpty, object } from '../schemas/json-schema.js';

/** lock-list and lock-clear for the CLI. */
export function lockRoutes(locks: LockService): FastifyPluginAsync {
  return async function lockRoutesPlugin(app) {
    app.get('/locks', async () => ({ leases: await locks.list() }));
    app.post<{ Body: { resource: string; peers?: string[]; force?: boolean } }>(
      '/locks/clear',
      {
        schema: { body: object({ resource: nonEmpty(), peers: arrayOf(nonEmpty()), force: bool() }, ['resource']) },
      },
      async (req) => locks.clear(req.body.resource, { ...(req.body.peers ? { peers: req.body.peers } : {}), force: req.body.force ?? false }),
    );
  };
}
