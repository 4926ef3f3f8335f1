import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { InterfaceService } from '../../host/interface-service.js';
import { bool, closed, nonEmpty, oneOf, optional } from '../../shared/typed-schema.js';

const ifaceParams = closed({ ref: nonEmpty(), iface: nonEmpty() });

/** A domain's interfaces (virsh domiflist, domif-getlink, domif-setlink, domifstat): parse and call InterfaceService. */
export function interfaceRoutes(interfaces: InterfaceService): TypedPlugin {
  return async function interfaceRoutesPlugin(app) {
    app.get(
      '/domains/:ref/interfaces',
      { schema: { params: closed({ ref: nonEmpty() }), querystring: closed({ inactive: optional(bool()) }) } },
      async (req) => ({ interfaces: interfaces.list(req.params.ref, req.query) }),
    );

    app.get('/domains/:ref/interfaces/:iface/link', { schema: { params: ifaceParams, querystring: closed({ config: optional(bool()) }) } }, async (req) =>
      interfaces.getLink(req.params.ref, req.params.iface, req.query),
    );

    app.put(
      '/domains/:ref/interfaces/:iface/link',
      { schema: { params: ifaceParams, body: closed({ state: oneOf(['up', 'down']), config: optional(bool()) }) } },
      async (req) => {
        await interfaces.setLink(req.params.ref, req.params.iface, req.body.state, req.body.config === undefined ? {} : { config: req.body.config });
        return { ok: true };
      },
    );

    app.get('/domains/:ref/interfaces/:iface/stats', { schema: { params: ifaceParams } }, async (req) => ({
      stats: interfaces.stats(req.params.ref, req.params.iface),
    }));
  };
}
