import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { LockService } from '../../host/lock-service.js';
import { arrayOf, bool, closed, nonEmpty, optional } from '../../shared/typed-schema.js';

/** lock-list and lock-clear for the CLI. */
export function lockRoutes(locks: LockService): TypedPlugin {
  return async function lockRoutesPlugin(app) {
    app.get('/locks', async () => ({ leases: await locks.list() }));
    app.post(
      '/locks/clear',
      {
        schema: { body: closed({ resource: nonEmpty(), peers: optional(arrayOf(nonEmpty())), force: optional(bool()) }) },
      },
      async (req) => locks.clear(req.body.resource, { ...(req.body.peers ? { peers: req.body.peers } : {}), force: req.body.force ?? false }),
    );
  };
}
