import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { POOL_TYPES } from '../../shared/volume.js';
import type { StorageService } from '../../storage/storage-service.js';

import { bool, closed, int, nonEmpty, nullableClosed, oneOf, optional, str } from '../../shared/typed-schema.js';

const nameParams = closed({ pool: nonEmpty() });
const volParams = closed({ pool: nonEmpty(), vol: nonEmpty() });

/** Storage pools and volumes: the HTTP side only parses and calls StorageService. */
export function storageRoutes(storage: StorageService): TypedPlugin {
  return async function storageRoutesPlugin(app) {
    app.get('/pools', { schema: { querystring: closed({ all: optional(bool()), inactive: optional(bool()), details: optional(bool()) }) } }, async (req) => ({
      pools: await storage.list(req.query),
    }));

    app.post('/pools', { schema: { body: closed({ xml: nonEmpty() }) } }, async (req) => ({
      pool: storage.define(req.body.xml),
    }));

    app.post(
      '/pools/define-as',
      {
        schema: {
          body: closed({
            name: nonEmpty(),
            type: oneOf(POOL_TYPES),
            sourceHost: optional(str()),
            sourcePath: optional(str()),
            sourceDev: optional(str()),
            sourceName: optional(str()),
            sourceFormat: optional(str()),
            target: optional(str()),
          }),
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

    app.get('/pools/:pool', { schema: { params: nameParams } }, async (req) => ({ pool: await storage.info(req.params.pool) }));
    app.get('/pools/:pool/xml', { schema: { params: nameParams } }, async (req) => ({ xml: storage.dumpXml(req.params.pool) }));

    app.post(
      '/pools/:pool/:action',
      {
        schema: {
          params: closed({ pool: nonEmpty(), action: oneOf(['start', 'destroy', 'build', 'refresh', 'autostart']) }),
          body: nullableClosed({ build: optional(bool()), enable: optional(bool()) }),
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

    app.delete('/pools/:pool', { schema: { params: nameParams } }, async (req) => {
      await storage.undefine(req.params.pool);
      return {};
    });

    app.get('/pools/:pool/volumes', { schema: { params: nameParams } }, async (req) => ({
      volumes: await storage.volumes(req.params.pool),
    }));

    app.post(
      '/pools/:pool/volumes',
      {
        schema: {
          params: nameParams,
          // Bytes; qemu-img takes sizes up to INT64_MAX, and JSON carries integers exactly up to 2^53.
          body: closed({ name: nonEmpty(), capacity: int(1), allocation: optional(int(0)), format: optional(oneOf(['raw', 'qcow2'])) }),
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

    app.get('/pools/:pool/volumes/:vol', { schema: { params: volParams } }, async (req) => ({
      volume: await storage.volumeInfo(req.params.pool, req.params.vol),
    }));

    app.delete('/pools/:pool/volumes/:vol', { schema: { params: volParams } }, async (req) => {
      await storage.deleteVolume(req.params.pool, req.params.vol);
      return {};
    });

    app.get('/volumes', { schema: { querystring: closed({ path: nonEmpty() }) } }, async (req) => storage.volumeByPath(req.query.path));
  };
}
