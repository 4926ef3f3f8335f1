import type { FastifyPluginAsync } from 'fastify';
import type { BlockCopyService } from '../../host/block-copy.js';

const params = { type: 'object', required: ['ref', 'dev'], properties: { ref: { type: 'string', minLength: 1 }, dev: { type: 'string', minLength: 1 } } } as const;

/** Live block copy (virsh blockcopy / blockjob). */
export function blockJobRoutes(copies: BlockCopyService): FastifyPluginAsync {
  return async function blockJobRoutesPlugin(app) {
    app.post<{ Params: { ref: string; dev: string }; Body: { pool?: string; dest?: string; format?: 'raw' | 'qcow2'; bandwidth?: number; reuseExternal?: boolean } }>(
      '/domains/:ref/disks/:dev/copy',
      {
        schema: {
          params,
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              pool: { type: 'string', minLength: 1 }, dest: { type: 'string', minLength: 1 }, format: { type: 'string', enum: ['raw', 'qcow2'] },
              bandwidth: { type: 'integer', minimum: 0 }, reuseExternal: { type: 'boolean' },
            },
          },
        },
      },
      async (req) => ({ job: await copies.start(req.params.ref, req.params.dev, { ...req.body, wait: false }) }),
    );

    app.get<{ Params: { ref: string; dev: string } }>('/domains/:ref/disks/:dev/job', { schema: { params } }, async (req) => ({
      job: await copies.info(req.params.ref, req.params.dev),
    }));

    app.post<{ Params: { ref: string; dev: string; action: 'pivot' | 'finish' | 'abort' } }>(
      '/domains/:ref/disks/:dev/job/:action',
      { schema: { params: { ...params, required: ['ref', 'dev', 'action'], properties: { ...params.properties, action: { type: 'string', enum: ['pivot', 'finish', 'abort'] } } } } },
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
