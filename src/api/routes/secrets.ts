import type { FastifyPluginAsync } from 'fastify';
import type { SecretService } from '../../secrets/secret-service.js';
import { nonEmpty, object } from '../schemas/json-schema.js';

const params = object({ uuid: nonEmpty() }, ['uuid']);

/** Secrets. Reading a value is a POST: a read-only connection (GET only) never gets one. */
export function secretRoutes(secrets: SecretService): FastifyPluginAsync {
  return async function secretRoutesPlugin(app) {
    app.get('/secrets', async () => ({ secrets: secrets.list() }));
    app.post<{ Body: { xml: string } }>('/secrets', { schema: { body: object({ xml: nonEmpty() }, ['xml']) } }, async (req) => ({
      secret: secrets.define(req.body.xml),
    }));
    app.get<{ Params: { uuid: string } }>('/secrets/:uuid/xml', { schema: { params } }, async (req) => ({ xml: secrets.dumpXml(req.params.uuid) }));
    app.put<{ Params: { uuid: string }; Body: { value: string } }>(
      '/secrets/:uuid/value',
      { schema: { params, body: object({ value: { type: 'string' } }, ['value']) } },
      async (req) => {
        secrets.setValue(req.params.uuid, req.body.value);
        return {};
      },
    );
    app.post<{ Params: { uuid: string } }>('/secrets/:uuid/value', { schema: { params } }, async (req) => ({ value: secrets.getValue(req.params.uuid) }));
    app.delete<{ Params: { uuid: string } }>('/secrets/:uuid', { schema: { params } }, async (req) => {
      secrets.undefine(req.params.uuid);
      return {};
    });
  };
}
