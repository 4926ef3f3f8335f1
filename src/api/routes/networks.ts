import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { NetworkService } from '../../network/network-service.js';

import { bool, closed, nonEmpty, nullableClosed, oneOf, optional } from '../../shared/typed-schema.js';

const netParams = closed({ net: nonEmpty() });
const xmlBody = closed({ xml: nonEmpty() });

/** Virtual networks: the HTTP side only parses and calls NetworkService. */
export function networkRoutes(networks: NetworkService): TypedPlugin {
  return async function networkRoutesPlugin(app) {
    app.get('/networks', { schema: { querystring: closed({ all: optional(bool()), inactive: optional(bool()) }) } }, async (req) => ({
      networks: networks.list(req.query),
    }));

    app.post('/networks', { schema: { body: xmlBody } }, async (req) => ({
      network: networks.info(networks.define(req.body.xml).uuid),
    }));

    app.post('/networks/create', { schema: { body: xmlBody } }, async (req) => ({
      network: networks.info((await networks.create(req.body.xml)).uuid),
    }));

    app.get('/networks/:net', { schema: { params: netParams } }, async (req) => ({ network: networks.info(req.params.net) }));
    app.get('/networks/:net/xml', { schema: { params: netParams } }, async (req) => ({ xml: networks.dumpXml(req.params.net) }));

    app.post(
      '/networks/:net/:action',
      {
        schema: {
          params: closed({ net: nonEmpty(), action: oneOf(['start', 'destroy', 'autostart']) }),
          body: nullableClosed({ enable: optional(bool()) }),
        },
      },
      async (req) => {
        const { net, action } = req.params;
        const { rec } = networks.lookup(net);
        if (action === 'start') await networks.start(rec.uuid);
        if (action === 'destroy') await networks.destroy(rec.uuid);
        if (action === 'autostart') networks.autostart(rec.uuid, req.body?.enable ?? true);
        // A transient network is gone once destroyed.
        return { network: networks.list({ all: true }).find((n) => n.uuid === rec.uuid) ?? null };
      },
    );

    app.delete('/networks/:net', { schema: { params: netParams } }, async (req) => {
      await networks.undefine(req.params.net);
      return {};
    });
  };
}
