import type { FastifyPluginAsync } from 'fastify';
import type { HostService } from '../../host/host-service.js';
import { bool, nonEmpty, object, optionalObject } from '../schemas/json-schema.js';

const refParams = object({ ref: nonEmpty() }, ['ref']);

/** virsh managedsave and managedsave-remove (the restore is `start`). */
export function managedSaveRoutes(service: HostService): FastifyPluginAsync {
  return async function managedSaveRoutesPlugin(app) {
    app.post<{ Params: { ref: string }; Body: { running?: boolean; paused?: boolean } | undefined }>(
      '/domains/:ref/managedsave',
      { schema: { params: refParams, body: optionalObject({ running: bool(), paused: bool() }) } },
      async (req) => {
        const rec = await service.managedSave(req.params.ref, { running: req.body?.running ?? false, paused: req.body?.paused ?? false });
        return { domain: { name: rec.name, uuid: rec.uuid, id: rec.domainId, state: rec.state } };
      },
    );

    app.delete<{ Params: { ref: string } }>('/domains/:ref/managedsave', { schema: { params: refParams } }, async (req) => {
      const rec = service.lookup(req.params.ref);
      return { domain: { name: rec.name, uuid: rec.uuid }, removed: await service.managedSaveRemove(req.params.ref) };
    });
  };
}
