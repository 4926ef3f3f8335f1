import type { FastifyPluginAsync } from 'fastify';
import { POOL_TYPES, type PoolType } from '../../storage/pool-definition.js';
import type { StorageService } from '../../storage/storage-service.js';

import { bool, int, nonEmpty, object, oneOf, optionalObject, str } from '../schemas/json-schema.js';

const nameParams = object({ pool: nonEmpty() }, ['pool']);
const volParams = object({ pool: nonEmpty(), vol: nonEmpty() }, ['pool', 'vol']);

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
      { schema: { querystring: object({ all: bool(), inactive: bool(), details: bool() }) } },
      async (req) => ({ pools: await storage.list(req.query) }),
    );

    app.post<{ Body: { xml: string } }>('/pools', { schema: { body: object({ xml: nonEmpty() }, ['xml']) } }, async (req) => ({
      pool: storage.define(req.body.xml),
    }));

    app.post<{ Body: DefineAsBody }>(
      '/pools/define-as',
      {
        schema: {
          body: object(
            {
              name: nonEmpty(),
              type: oneOf(POOL_TYPES),
              sourceHost: str(),
              sourcePath: str(),
              sourceDev: str(),
              sourceName: str(),
              sourceFormat: str(),
              target: str(),
            },
            ['name', 'type'],
          ),
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
          params: object({ pool: nonEmpty(), action: oneOf(['start', 'destroy', 'build', 'refresh', 'autostart']) }, ['pool', 'action']),
          body: optionalObject({ build: bool(), enable: bool() }),
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
          // Bytes; qemu-img takes sizes up to INT64_MAX, and JSON carries integers exactly up to 2^53.
          body: object({ name: nonEmpty(), capacity: int(1), allocation: int(0), format: oneOf(['raw', 'qcow2']) }, ['name', 'capacity']),
        },
      },
      async (req) => {
        const b = req.body;
        return {
          volume: await storage.createVolume(req.params.pool, {
            name: b.name,
            capacity: b.capacity,
            format: b.format ?? 'raw',
            ...(b.allocation !== undefined ? { allocation: b.allocation } : {}),
          }),
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

    app.get<{ Querystring: { path: string } }>('/volumes', { schema: { querystring: object({ path: nonEmpty() }, ['path']) } }, async (req) =>
      storage.volumeByPath(req.query.path),
    );
  };
}
