import type { FastifyPluginAsync } from 'fastify';
import { defaultMigrationOptions, type MigrationOptions } from '../../migration/options.js';
import { type DestinationCheckDeps, runDestinationChecks } from '../../preflight/destination-checks.js';
import type { PreflightRequest } from '../../preflight/preflight-request.js';
import type { PreflightService } from '../../preflight/preflight-service.js';
import { migrationOptionsSchema } from '../schemas/migration-options.js';
import { nonEmpty, object } from '../schemas/json-schema.js';
import { preflightRequestSchema } from '../schemas/peer-schemas.js';

/** migrate-check (the CLI's) and the destination's half of the checks (the peer API's). */
export function preflightRoutes(preflight: PreflightService): FastifyPluginAsync {
  return async function preflightRoutesPlugin(app) {
    app.post<{ Params: { ref: string }; Body: { destUri: string; options?: Partial<MigrationOptions> } }>(
      '/domains/:ref/migrate-check',
      { schema: { params: object({ ref: nonEmpty() }, ['ref']), body: object({ destUri: nonEmpty(), options: migrationOptionsSchema }, ['destUri']) } },
      async (req) => preflight.run(req.params.ref, req.body.destUri, { ...defaultMigrationOptions(), ...(req.body.options ?? {}) }),
    );
  };
}

export function peerPreflightRoutes(deps: DestinationCheckDeps): FastifyPluginAsync {
  return async function peerPreflightRoutesPlugin(app) {
    app.post<{ Body: { request: PreflightRequest } }>(
      '/preflight',
      { schema: { body: object({ request: preflightRequestSchema }, ['request']) } },
      async (req) => runDestinationChecks(req.body.request, deps),
    );
  };
}
