import type { FastifyPluginAsync } from 'fastify';
import type { BlockCopyService } from '../../host/block-copy.js';
import { bool, int, nonEmpty, object, oneOf } from '../schemas/json-schema.js';

const params = object({ ref: nonEmpty(), dev: nonEmpty() }, ['ref', 'dev']);

/** Live block copy (virsh blockcopy / blockjob). */
export function blockJobRoutes(copies: BlockCopyService): FastifyPluginAsync {
  return async function blockJobRoutesPlugin(app) {
    app.post<{
      Params: { ref: string; dev: string };
      Body: { pool?: string; dest?: string; format?: 'raw' | 'qcow2'; bandwidth?: number; reuseExternal?: boolean };
    }>(
      '/domains/:ref/disks/:dev/copy',
      {
        schema: {
          params,
          // bandwidth: bytes/s (the CLI converts MiB/s); QEMU's speed is an int64.
          body: object({ pool: nonEmpty(), dest: nonEmpty(), format: oneOf(['raw', 'qcow2']), bandwidth: int(0), reuseExternal: bool() }),
        },
      },
      async (req) => ({ job: await copies.start(req.params.ref, req.params.dev, { ...req.body, wait: false }) }),
    );

    app.get<{ Params: { ref: string; dev: string } }>('/domains/:ref/disks/:dev/job', { schema: { params } }, async (req) => ({
      job: await copies.info(req.params.ref, req.params.dev),
    }));

    app.post<{ Params: { ref: string; dev: string; action: 'pivot' | 'finish' | 'abort' } }>(
      '/domains/:ref/disks/:dev/job/:action',
      { schema: { params: object({ ref: nonEmpty(), dev: nonEmpty(), action: oneOf(['pivot', 'finish', 'abort']) }, ['ref', 'dev', 'action']) } },
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
