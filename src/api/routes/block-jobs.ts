import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { BlockCopyService } from '../../host/block-copy.js';
import { bool, closed, int, nonEmpty, oneOf, optional } from '../../shared/typed-schema.js';

const params = closed({ ref: nonEmpty(), dev: nonEmpty() });

/** Live block copy (virsh blockcopy / blockjob). */
export function blockJobRoutes(copies: BlockCopyService): TypedPlugin {
  return async function blockJobRoutesPlugin(app) {
    app.post(
      '/domains/:ref/disks/:dev/copy',
      {
        schema: {
          params,
          // bandwidth: bytes/s (the CLI converts MiB/s); QEMU's speed is an int64.
          body: closed({
            pool: optional(nonEmpty()),
            dest: optional(nonEmpty()),
            format: optional(oneOf(['raw', 'qcow2'])),
            bandwidth: optional(int(0)),
            reuseExternal: optional(bool()),
          }),
        },
      },
      async (req) => ({ job: await copies.start(req.params.ref, req.params.dev, { ...req.body, wait: false }) }),
    );

    app.get('/domains/:ref/disks/:dev/job', { schema: { params } }, async (req) => ({
      job: await copies.info(req.params.ref, req.params.dev),
    }));

    app.post(
      '/domains/:ref/disks/:dev/job/:action',
      { schema: { params: closed({ ref: nonEmpty(), dev: nonEmpty(), action: oneOf(['pivot', 'finish', 'abort']) }) } },
      async (req) => {
        const { ref, dev, action } = req.params;
        if (action === 'pivot') await copies.pivot(ref, dev);
        if (action === 'finish') await copies.finish(ref, dev);
        if (action === 'abort') await copies.abort(ref, dev);
        return {};
      },
    );
  };
}
