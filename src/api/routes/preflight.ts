import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { defaultMigrationOptions } from '../../migration/options.js';
import type { PreflightService } from '../../preflight/preflight-service.js';
import { migrationOptionsRequestSchema } from '../../shared/migration-options-schema.js';
import { closed, nonEmpty, optional } from '../../shared/typed-schema.js';

/** migrate-check (the CLI's); the destination's half of the checks is a peer route (peer-preflight.ts). */
export function preflightRoutes(preflight: PreflightService): TypedPlugin {
  return async function preflightRoutesPlugin(app) {
    app.post(
      '/domains/:ref/migrate-check',
      { schema: { params: closed({ ref: nonEmpty() }), body: closed({ destUri: nonEmpty(), options: optional(migrationOptionsRequestSchema) }) } },
      async (req) => preflight.run(req.params.ref, req.body.destUri, { ...defaultMigrationOptions(), ...(req.body.options ?? {}) }),
    );
  };
}
