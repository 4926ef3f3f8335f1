import type { FastifyPluginAsync } from 'fastify';
import { POOL_TYPES, type PoolType } from '../../storage/pool-definition.js';
import type { StorageService } from '../../storage/storage-service.js';

const nameParams = { type: 'object', required: ['pool'], properties: { pool: { type: 'string', minLength: 1 } } } as const;
const volParams = { type: 'object', required: ['pool', 'vol'], properties: { pool: { type: 'string', minLength: 1 }, vol: { type: 'string', minLength: 1 } } } as const;

interface DefineAsBody {
  name: string;
  type: PoolType;
  sourceHost?: string;
  sourcePath?: string;
  sourceDev?: string;
  sourceName?: string;
  sourceFormat?: string;
  target?: string;
}

/** Storage pools and volumes: the HTTP side only parses and calls StorageService. */
export function storageRoutes(storage: StorageService): FastifyPluginAsync {
  return async function storageRoutesPlugin(app) {
    app.get<{ Querystring: { all?: boolean; inactive?: boolean; details?: boolean } }>(
      '/pools',
      { schema: { querystring: { type: 'object', properties: { all: { type: 'boolean' }, inactive: { type: 'boolean' }, details: { type: 'boolean' } } } } },
      async (req) => ({ pools: await storage.list(req.query) }),
    );

    app.post<{ Body: { xml: string } }>(
      '/pools',
      { schema: { body: { type: 'object', required: ['xml'], properties: { xml: { type: 'string', minLength: 1 } } } } },
      async (req) => ({ pool: storage.define(req.body.xml) }),
    );

    app.post<{ Body: DefineAsBody }>(
      '/pools/define-as',
      {
        schema: {
          body: {
            type: 'object',
            required: ['name', 'type'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1 }, type: { type: 'string', enum: [...POOL_TYPES] }, sourceHost: { type: 'string' },
              sourcePath: { type: 'string' }, sourceDev: { type: 'string' }, sourceName: { type: 'string' }, sourceFormat: { type: 'string' },
              target: { type: 'string' },
            },
          },
        },
      },
      async (req) => {
        const b = req.body;
        const source: Record<string, string> = {};
        if (b.sourceHost) source.host = b.sourceHost;
        if (b.sourcePath) source.dir = b.sourcePath;
        if (b.sourceDev) source.device = b.sourceDev;
        if (b.sourceName) source.name = b.sourceName;
        if (b.sourceFormat) source.format = b.sourceFormat;
        return { pool: storage.defineAs({ name: b.name, type: b.type, source, target: { path: b.target ?? '' } }) };
      },
    );

    app.get<{ Params: { pool: string } }>('/pools/:pool', { schema: { params: nameParams } }, async (req) => ({ pool: await storage.info(req.params.pool) }));
    app.get<{ Params: { pool: string } }>('/pools/:pool/xml', { schema: { params: nameParams } }, async (req) => ({ xml: storage.dumpXml(req.params.pool) }));

    app.post<{ Params: { pool: string; action: string }; Body: { build?: boolean; enable?: boolean } | undefined }>(
      '/pools/:pool/:action',
      {
        schema: {
          params: { type: 'object', required: ['pool', 'action'], properties: { pool: { type: 'string' }, action: { type: 'string', enum: ['start', 'destroy', 'build', 'refresh', 'autostart'] } } },
          body: { type: ['object', 'null'], properties: { build: { type: 'boolean' }, enable: { type: 'boolean' } } },
        },
      },
      async (req) => {
        const { pool, action } = req.params;
        if (action === 'start') await storage.start(pool, { build: req.body?.build ?? false });
        if (action === 'destroy') await storage.destroy(pool);
        if (action === 'build') await storage.build(pool);
        if (action === 'refresh') await storage.volumes(pool);
        if (action === 'autostart') storage.autostart(pool, req.body?.enable ?? true);
        return { pool: await storage.info(pool) };
      },
    );

    app.delete<{ Params: { pool: string } }>('/pools/:pool', { schema: { params: nameParams } }, async (req) => {
      await storage.undefine(req.params.pool);
      return {};
    });

    app.get<{ Params: { pool: string } }>('/pools/:pool/volumes', { schema: { params: nameParams } }, async (req) => ({
      volumes: await storage.volumes(req.params.pool),
    }));

    app.post<{ Params: { pool: string }; Body: { name: string; capacity: number; allocation?: number; format?: 'raw' | 'qcow2' } }>(
      '/pools/:pool/volumes',
      {
        schema: {
          params: nameParams,
          body: {
            type: 'object',
            required: ['name', 'capacity'],
            properties: { name: { type: 'string', minLength: 1 }, capacity: { type: 'integer', minimum: 1 }, allocation: { type: 'integer', minimum: 0 }, format: { type: 'string', enum: ['raw', 'qcow2'] } },
          },
        },
      },
      async (req) => {
        const b = req.body;
        return {
          volume: await storage.createVolume(req.params.pool, { name: b.name, capacity: b.capacity, format: b.format ?? 'raw', ...(b.allocation !== undefined ? { allocation: b.allocation } : {}) }),
        };
      },
    );

    app.get<{ Params: { pool: string; vol: string } }>('/pools/:pool/volumes/:vol', { schema: { params: volParams } }, async (req) => ({
      volume: await storage.volumeInfo(req.params.pool, req.params.vol),
    }));

    app.delete<{ Params: { pool: string; vol: string } }>('/pools/:pool/volumes/:vol', { schema: { params: volParams } }, async (req) => {
      await storage.deleteVolume(req.params.pool, req.params.vol);
      return {};
    });

    app.get<{ Querystring: { path: string } }>(
      '/volumes',
      { schema: { querystring: { type: 'object', required: ['path'], properties: { path: { type: 'string', minLength: 1 } } } } },
      async (req) => storage.volumeByPath(req.query.path),
    );
  };
}
