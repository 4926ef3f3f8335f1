import type { FastifyPluginAsync } from 'fastify';
import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationService } from '../../migration/migration-service.js';
import { defaultMigrationOptions, type MigrationOptions } from '../../migration/options.js';

const refParams = { type: 'object', required: ['ref'], properties: { ref: { type: 'string', minLength: 1 } } } as const;

const optionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    live: { type: 'boolean' }, offline: { type: 'boolean' }, persistent: { type: 'boolean' }, undefineSource: { type: 'boolean' },
    suspend: { type: 'boolean' }, compressed: { type: 'boolean' },
    compMethods: { type: 'array', items: { type: 'string', enum: ['xbzrle', 'zlib', 'zstd'] } },
    abortOnError: { type: 'boolean' }, unsafe: { type: 'boolean' }, autoConverge: { type: 'boolean' }, postcopy: { type: 'boolean' },
    autoConvergeInitial: { type: 'integer', minimum: 1, maximum: 99 }, autoConvergeIncrement: { type: 'integer', minimum: 1, maximum: 99 },
    postcopyAfterPrecopy: { type: 'boolean' }, parallel: { type: 'boolean' },
    parallelConnections: { type: 'integer', minimum: 1, maximum: 255 },
    bandwidth: { type: 'number', minimum: 0 }, timeout: { type: 'number', exclusiveMinimum: 0 },
    timeoutAction: { type: 'string', enum: ['abort', 'suspend', 'postcopy'] },
    listenAddress: { type: 'string', minLength: 1 }, migrateUri: { type: 'string', minLength: 1 },
    maxDowntime: { type: 'integer', minimum: 1 },
    copyStorage: { type: 'string', enum: ['none', 'all', 'inc'] },
    migrateDisks: { type: 'array', items: { type: 'string', minLength: 1 } },
    copyStorageSynchronousWrites: { type: 'boolean' },
    tls: { type: 'boolean' }, tlsDestination: { type: 'string', minLength: 1 },
  },
} as const;

/** Migration and job control: the HTTP side only parses and calls MigrationService. */
export function migrationRoutes(migrations: MigrationService): FastifyPluginAsync {
  return async function migrationRoutesPlugin(app) {
    app.post<{ Params: { ref: string }; Body: { destUri: string; options?: Partial<MigrationOptions> } }>(
      '/domains/:ref/migrate',
      {
        schema: {
          params: refParams,
          body: { type: 'object', required: ['destUri'], properties: { destUri: { type: 'string', minLength: 1 }, options: optionsSchema } },
        },
      },
      async (req) => {
        const options: MigrationOptions = { ...defaultMigrationOptions(), ...(req.body.options ?? {}) };
        if (options.offline && !options.persistent) {
          throw new FerryError('INVALID_ARGUMENT', 'invalid argument: flag VIR_MIGRATE_OFFLINE requires VIR_MIGRATE_PERSIST_DEST');
        }
        return { migration: await migrations.migrate(req.params.ref, req.body.destUri, options) };
      },
    );

    app.get<{ Params: { ref: string }; Querystring: { completed?: boolean } }>(
      '/domains/:ref/job',
      { schema: { params: refParams, querystring: { type: 'object', properties: { completed: { type: 'boolean' } } } } },
      async (req) => ({ job: migrations.jobInfo(req.params.ref, req.query) }),
    );

    app.post<{ Params: { ref: string } }>('/domains/:ref/job/abort', { schema: { params: refParams } }, async (req) => {
      await migrations.abort(req.params.ref);
      return {};
    });

    app.post<{ Params: { ref: string } }>('/domains/:ref/job/postcopy', { schema: { params: refParams } }, async (req) => {
      await migrations.startPostcopy(req.params.ref);
      return {};
    });

    app.get<{ Params: { ref: string } }>('/domains/:ref/migration/speed', { schema: { params: refParams } }, async (req) => ({
      bandwidth: await migrations.getSpeed(req.params.ref),
    }));

    app.put<{ Params: { ref: string }; Body: { bandwidth: number } }>(
      '/domains/:ref/migration/speed',
      { schema: { params: refParams, body: { type: 'object', required: ['bandwidth'], properties: { bandwidth: { type: 'number', minimum: 0 } } } } },
      async (req) => {
        await migrations.setSpeed(req.params.ref, req.body.bandwidth);
        return {};
      },
    );

    app.get<{ Params: { ref: string } }>('/domains/:ref/migration/max-downtime', { schema: { params: refParams } }, async (req) => ({
      downtime: await migrations.getMaxDowntime(req.params.ref),
    }));

    app.put<{ Params: { ref: string }; Body: { downtime: number } }>(
      '/domains/:ref/migration/max-downtime',
      { schema: { params: refParams, body: { type: 'object', required: ['downtime'], properties: { downtime: { type: 'integer' } } } } },
      async (req) => {
        await migrations.setMaxDowntime(req.params.ref, req.body.downtime);
        return {};
      },
    );
  };
}
