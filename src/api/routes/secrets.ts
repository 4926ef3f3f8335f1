import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { SecretService } from '../../secrets/secret-service.js';
import { closed, nonEmpty, str } from '../../shared/typed-schema.js';

const params = closed({ uuid: nonEmpty() });

/** Secrets. Reading a value is a POST: a read-only connection (GET only) never gets one. */
export function secretRoutes(secrets: SecretService): TypedPlugin {
  return async function secretRoutesPlugin(app) {
    app.get('/secrets', async () => ({ secrets: secrets.list() }));
    app.post('/secrets', { schema: { body: closed({ xml: nonEmpty() }) } }, async (req) => ({
      secret: secrets.define(req.body.xml),
    }));
    app.get('/secrets/:uuid/xml', { schema: { params } }, async (req) => ({ xml: secrets.dumpXml(req.params.uuid) }));
    app.put('/secrets/:uuid/value', { schema: { params, body: closed({ value: str() }) } }, async (req) => {
      secrets.setValue(req.params.uuid, req.body.value);
      return {};
    });
    app.post('/secrets/:uuid/value', { schema: { params } }, async (req) => ({ value: secrets.getValue(req.params.uuid) }));
    app.delete('/secrets/:uuid', { schema: { params } }, async (req) => {
      secrets.undefine(req.params.uuid);
      return {};
    });
  };
}
