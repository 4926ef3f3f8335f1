import type { FastifyPluginAsync } from 'fastify';
import type { FinishRequest } from '../migration/destination.js';
import type { MigrationService } from '../migration/migration-service.js';

import { nonEmpty, object } from '../api/schemas/json-schema.js';
import { finishRequestSchema, migrationCookieSchema } from '../api/schemas/peer-schemas.js';

const idParams = object({ id: nonEmpty() }, ['id']);

/** The peer API another ferryd calls to migrate a domain here (the destination side of the protocol). */
export function peerRoutes(migrations: MigrationService): FastifyPluginAsync {
  return async function peerRoutesPlugin(app) {
    app.post<{ Body: { cookie: unknown } }>(
      '/migrations/prepare',
      { schema: { body: object({ cookie: migrationCookieSchema }, ['cookie']) } },
      async (req) => migrations.prepareIncoming(req.body.cookie),
    );

    app.post<{ Params: { id: string }; Body: FinishRequest }>(
      '/migrations/:id/finish',
      {
        schema: {
          params: idParams,
          body: finishRequestSchema,
        },
      },
      async (req) => migrations.finishIncoming(req.params.id, req.body),
    );

    app.post<{ Params: { id: string } }>('/migrations/:id/abort', { schema: { params: idParams } }, async (req) => {
      await migrations.abortIncoming(req.params.id);
      return {};
    });

    app.get<{ Params: { id: string } }>('/migrations/:id', { schema: { params: idParams } }, async (req) =>
      migrations.peerStatus(req.params.id),
    );
  };
}
