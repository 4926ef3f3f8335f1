import type { FastifyPluginAsync } from 'fastify';
import type { NetworkService } from '../../network/network-service.js';

import { bool, nonEmpty, object, oneOf, optionalObject } from '../schemas/json-schema.js';

const netParams = object({ net: nonEmpty() }, ['net']);
const xmlBody = object({ xml: nonEmpty() }, ['xml']);

/** Virtual networks: the HTTP side only parses and calls NetworkService. */
export function networkRoutes(networks: NetworkService): FastifyPluginAsync {
  return async function networkRoutesPlugin(app) {
    app.get<{ Querystring: { all?: boolean; inactive?: boolean } }>(
      '/networks',
      { schema: { querystring: object({ all: bool(), inactive: bool() }) } },
      async (req) => ({ networks: networks.list(req.query) }),
    );

    app.post<{ Body: { xml: string } }>('/networks', { schema: { body: xmlBody } }, async (req) => ({
      network: networks.info(networks.define(req.body.xml).uuid),
    }));

    app.post<{ Body: { xml: string } }>('/networks/create', { schema: { body: xmlBody } }, async (req) => ({
      network: networks.info((await networks.create(req.body.xml)).uuid),
    }));

    app.get<{ Params: { net: string } }>('/networks/:net', { schema: { params: netParams } }, async (req) => ({ network: networks.info(req.params.net) }));
    app.get<{ Params: { net: string } }>('/networks/:net/xml', { schema: { params: netParams } }, async (req) => ({ xml: networks.dumpXml(req.params.net) }));

    app.post<{ Params: { net: string; action: 'start' | 'destroy' | 'autostart' }; Body: { enable?: boolean } | undefined }>(
      '/networks/:net/:action',
      {
        schema: {
          params: object({ net: nonEmpty(), action: oneOf(['start', 'destroy', 'autostart']) }, ['net', 'action']),
          body: optionalObject({ enable: bool() }),
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

    app.delete<{ Params: { net: string } }>('/networks/:net', { schema: { params: netParams } }, async (req) => {
      await networks.undefine(req.params.net);
      return {};
    });
  };
}
