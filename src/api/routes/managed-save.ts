import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { HostService } from '../../host/host-service.js';
import { bool, closed, nonEmpty, nullableClosed, optional } from '../../shared/typed-schema.js';

const refParams = closed({ ref: nonEmpty() });

/** virsh managedsave and managedsave-remove (the restore is `start`). */
export function managedSaveRoutes(service: HostService): TypedPlugin {
  return async function managedSaveRoutesPlugin(app) {
    app.post(
      '/domains/:ref/managedsave',
      { schema: { params: refParams, body: nullableClosed({ running: optional(bool()), paused: optional(bool()) }) } },
      async (req) => {
        const rec = await service.managedSave(req.params.ref, { running: req.body?.running ?? false, paused: req.body?.paused ?? false });
        return { domain: { name: rec.name, uuid: rec.uuid, id: rec.domainId, state: rec.state } };
      },
    );

    app.delete('/domains/:ref/managedsave', { schema: { params: refParams } }, async (req) => {
      const rec = service.lookup(req.params.ref);
      return { domain: { name: rec.name, uuid: rec.uuid }, removed: await service.managedSaveRemove(req.params.ref) };
    });
  };
}
