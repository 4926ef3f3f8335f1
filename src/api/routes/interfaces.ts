import type { FastifyPluginAsync } from 'fastify';
import type { InterfaceService } from '../../host/interface-service.js';
import { bool, nonEmpty, object, oneOf } from '../schemas/json-schema.js';

const ifaceParams = object({ ref: nonEmpty(), iface: nonEmpty() }, ['ref', 'iface']);

/** A domain's interfaces (virsh domiflist, domif-getlink, domif-setlink, domifstat): parse and call InterfaceService. */
export function interfaceRoutes(interfaces: InterfaceService): FastifyPluginAsync {
  return async function interfaceRoutesPlugin(app) {
    app.get<{ Params: { ref: string }; Querystring: { inactive?: boolean } }>(
      '/domains/:ref/interfaces',
      { schema: { params: object({ ref: nonEmpty() }, ['ref']), querystring: object({ inactive: bool() }) } },
      async (req) => ({ interfaces: interfaces.list(req.params.ref, req.query) }),
    );

    app.get<{ Params: { ref: string; iface: string }; Querystring: { config?: boolean } }>(
      '/domains/:ref/interfaces/:iface/link',
      { schema: { params: ifaceParams, querystring: object({ config: bool() }) } },
      async (req) => interfaces.getLink(req.params.ref, req.params.iface, req.query),
    );

    app.put<{ Params: { ref: string; iface: string }; Body: { state: 'up' | 'down'; config?: boolean } }>(
      '/domains/:ref/interfaces/:iface/link',
      { schema: { params: ifaceParams, body: object({ state: oneOf(['up', 'down']), config: bool() }, ['state']) } },
      async (req) => {
        await interfaces.setLink(req.params.ref, req.params.iface, req.body.state, req.body.config === undefined ? {} : { config: req.body.config });
        return { ok: true };
      },
    );

    app.get<{ Params: { ref: string; iface: string } }>('/domains/:ref/interfaces/:iface/stats', { schema: { params: ifaceParams } }, async (req) => ({
      stats: interfaces.stats(req.params.ref, req.params.iface),
    }));
  };
}
