import type { FastifyPluginAsync } from 'fastify';
import type { DiskHotplugService } from '../../host/disk-hotplug.js';
import type { AttachDiskSpec } from '../../vm/disk-hotplug.js';
import { bool, nonEmpty, object, oneOf, str } from '../schemas/json-schema.js';

const scope = { live: bool(), config: bool(), current: bool() };

/** virsh attach-disk / detach-disk / change-media. */
export function diskHotplugRoutes(disks: DiskHotplugService): FastifyPluginAsync {
  return async function diskHotplugRoutesPlugin(app) {
    app.post<{ Params: { ref: string }; Body: AttachDiskSpec & { live?: boolean; config?: boolean; current?: boolean; persistent?: boolean } }>(
      '/domains/:ref/disks',
      {
        schema: {
          params: object({ ref: nonEmpty() }, ['ref']),
          body: object(
            {
              source: str(),
              target: nonEmpty(),
              bus: nonEmpty(),
              device: nonEmpty(),
              format: nonEmpty(),
              driver: nonEmpty(),
              cache: nonEmpty(),
              mode: nonEmpty(),
              sourceType: oneOf(['file', 'block']),
              serial: nonEmpty(),
              persistent: bool(),
              ...scope,
            },
            ['source', 'target'],
          ),
        },
      },
      async (req) => {
        const { live, config, current, persistent, ...spec } = req.body;
        await disks.attach(req.params.ref, spec, { live, config, current, persistent });
        return {};
      },
    );

    app.delete<{ Params: { ref: string; target: string }; Querystring: { live?: boolean; config?: boolean; current?: boolean } }>(
      '/domains/:ref/disks/:target',
      { schema: { params: object({ ref: nonEmpty(), target: nonEmpty() }, ['ref', 'target']), querystring: object(scope) } },
      async (req) => {
        await disks.detach(req.params.ref, req.params.target, req.query);
        return {};
      },
    );

    app.post<{
      Params: { ref: string; target: string };
      Body: { action: 'eject' | 'insert' | 'update'; source?: string; force?: boolean; live?: boolean; config?: boolean; current?: boolean };
    }>(
      '/domains/:ref/disks/:target/media',
      {
        schema: {
          params: object({ ref: nonEmpty(), target: nonEmpty() }, ['ref', 'target']),
          body: object({ action: oneOf(['eject', 'insert', 'update']), source: nonEmpty(), force: bool(), ...scope }, ['action']),
        },
      },
      async (req) => {
        const { action, source, force, ...s } = req.body;
        await disks.changeMedia(req.params.ref, req.params.target, action, source, { ...s, force });
        return {};
      },
    );
  };
}
