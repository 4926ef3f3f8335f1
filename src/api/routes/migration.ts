import type { FastifyPluginAsync } from 'fastify';
import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationService } from '../../migration/migration-service.js';
import { defaultMigrationOptions, type MigrationOptions } from '../../migration/options.js';

import { migrationOptionsSchema } from '../schemas/migration-options.js';
import { bool, int, nonEmpty, object } from '../schemas/json-schema.js';

const refParams = object({ ref: nonEmpty() }, ['ref']);

/** Migration and job control: the HTTP side only parses and calls MigrationService. */
export function migrationRoutes(migrations: MigrationService): FastifyPluginAsync {
  return async function migrationRoutesPlugin(app) {
    app.post<{ Params: { ref: string }; Body: { destUri: string; options?: Partial<MigrationOptions> } }>(
      '/domains/:ref/migrate',
      {
        schema: {
          params: refParams,
          body: object({ destUri: nonEmpty(), options: migrationOptionsSchema }, ['destUri']),
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
      { schema: { params: refParams, querystring: object({ completed: bool() }) } },
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

    app.post<{ Params: { ref: string }; Body: { destUri: string } }>(
      '/domains/:ref/job/postcopy-resume',
      { schema: { params: refParams, body: object({ destUri: nonEmpty() }, ['destUri']) } },
      async (req) => {
        await migrations.postcopyResume(req.params.ref, req.body.destUri);
        return {};
      },
    );

    app.get<{ Params: { ref: string } }>('/domains/:ref/migration/speed', { schema: { params: refParams } }, async (req) => ({
      bandwidth: await migrations.getSpeed(req.params.ref),
    }));

    app.put<{ Params: { ref: string }; Body: { bandwidth: number } }>(
      '/domains/:ref/migration/speed',
      // MiB/s, 0 for unlimited; QEMU's limit is INT64_MAX bytes/s.
      { schema: { params: refParams, body: object({ bandwidth: int(0, 8796093022207) }, ['bandwidth']) } },
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
      // ms; QEMU's downtime-limit is 0..2000 s, and virsh refuses 0 ("Invalid downtime").
      { schema: { params: refParams, body: object({ downtime: int(1, 2_000_000) }, ['downtime']) } },
      async (req) => {
        await migrations.setMaxDowntime(req.params.ref, req.body.downtime);
        return {};
      },
    );
  };
}
