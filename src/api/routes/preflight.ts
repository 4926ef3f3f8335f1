import type { FastifyPluginAsync } from 'fastify';
import { defaultMigrationOptions, type MigrationOptions } from '../../migration/options.js';
import type { PreflightService } from '../../preflight/preflight-service.js';
import { migrationOptionsSchema } from '../schemas/migration-options.js';
import { nonEmpty, object } from '../schemas/json-schema.js';

/** migrate-check (the CLI's); the destination's half of the checks is a peer route (peer-preflight.ts). */
export function preflightRoutes(preflight: PreflightService): FastifyPluginAsync {
  return async function preflightRoutesPlugin(app) {
    app.post<{ Params: { ref: string }; Body: { destUri: string; options?: Partial<MigrationOptions> } }>(
      '/domains/:ref/migrate-check',
      { schema: { params: object({ ref: nonEmpty() }, ['ref']), body: object({ destUri: nonEmpty(), options: migrationOptionsSchema }, ['destUri']) } },
      async (req) => preflight.run(req.params.ref, req.body.destUri, { ...defaultMigrationOptions(), ...(req.body.options ?? {}) }),
    );
  };
}
