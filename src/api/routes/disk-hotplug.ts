import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { DiskHotplugService } from '../../host/disk-hotplug.js';
import { bool, closed, nonEmpty, oneOf, optional, str } from '../../shared/typed-schema.js';

const scope = { live: optional(bool()), config: optional(bool()), current: optional(bool()) };

/** virsh attach-disk / detach-disk / change-media. */
export function diskHotplugRoutes(disks: DiskHotplugService): TypedPlugin {
  return async function diskHotplugRoutesPlugin(app) {
    app.post(
      '/domains/:ref/disks',
      {
        schema: {
          params: closed({ ref: nonEmpty() }),
          body: closed({
            source: str(),
            target: nonEmpty(),
            bus: optional(nonEmpty()),
            device: optional(nonEmpty()),
            format: optional(nonEmpty()),
            driver: optional(nonEmpty()),
            cache: optional(nonEmpty()),
            mode: optional(nonEmpty()),
            sourceType: optional(oneOf(['file', 'block'])),
            serial: optional(nonEmpty()),
            persistent: optional(bool()),
            ...scope,
          }),
        },
      },
      async (req) => {
        const { live, config, current, persistent, ...spec } = req.body;
        await disks.attach(req.params.ref, spec, { live, config, current, persistent });
        return {};
      },
    );

    app.delete(
      '/domains/:ref/disks/:target',
      { schema: { params: closed({ ref: nonEmpty(), target: nonEmpty() }), querystring: closed(scope) } },
      async (req) => {
        await disks.detach(req.params.ref, req.params.target, req.query);
        return {};
      },
    );

    app.post(
      '/domains/:ref/disks/:target/media',
      {
        schema: {
          params: closed({ ref: nonEmpty(), target: nonEmpty() }),
          body: closed({ action: oneOf(['eject', 'insert', 'update']), source: optional(nonEmpty()), force: optional(bool()), ...scope }),
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
