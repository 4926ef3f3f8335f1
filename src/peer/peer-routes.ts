import type { FastifyPluginAsync } from 'fastify';
import type { FinishRequest } from '../migration/destination.js';
import type { MigrationService } from '../migration/migration-service.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } } as const;

/** The peer API another ferryd calls to migrate a domain here (the destination side of the protocol). */
export function peerRoutes(migrations: MigrationService): FastifyPluginAsync {
  return async function peerRoutesPlugin(app) {
    app.post<{ Body: { cookie: unknown } }>(
      '/migrations/prepare',
      { schema: { body: { type: 'object', required: ['cookie'], properties: { cookie: { type: 'object' } } } } },
      async (req) => migrations.prepareIncoming(req.body.cookie),
    );

    app.post<{ Params: { id: string }; Body: FinishRequest }>(
      '/migrations/:id/finish',
      {
        schema: {
          params: idParams,
          body: {
            type: 'object',
            required: ['resume', 'postcopy'],
            properties: { resume: { type: 'boolean' }, postcopy: { type: 'boolean' }, persistentXml: { type: ['string', 'null'] }, stats: { type: 'object' }, leases: { type: 'array', items: { type: 'object' } } },
          },
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
