import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { MigrationService } from '../../migration/migration-service.js';
import { defaultMigrationOptions } from '../../migration/options.js';

import { type MigrationOptions, migrationOptionsRequestSchema } from '../../shared/migration-options-schema.js';
import { bool, closed, int, nonEmpty, optional } from '../../shared/typed-schema.js';

const refParams = closed({ ref: nonEmpty() });

/** Migration and job control: the HTTP side only parses and calls MigrationService. */
export function migrationRoutes(migrations: MigrationService): TypedPlugin {
  return async function migrationRoutesPlugin(app) {
    app.post(
      '/domains/:ref/migrate',
      {
        schema: {
          params: refParams,
          body: closed({ destUri: nonEmpty(), options: optional(migrationOptionsRequestSchema) }),
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

    app.get('/domains/:ref/job', { schema: { params: refParams, querystring: closed({ completed: optional(bool()) }) } }, async (req) => ({
      job: migrations.jobInfo(req.params.ref, req.query),
    }));

    app.post('/domains/:ref/job/abort', { schema: { params: refParams } }, async (req) => {
      await migrations.abort(req.params.ref);
      return {};
    });

    app.post('/domains/:ref/job/postcopy', { schema: { params: refParams } }, async (req) => {
      await migrations.startPostcopy(req.params.ref);
      return {};
    });

    app.post('/domains/:ref/job/postcopy-resume', { schema: { params: refParams, body: closed({ destUri: nonEmpty() }) } }, async (req) => {
      await migrations.postcopyResume(req.params.ref, req.body.destUri);
      return {};
    });

    app.get('/domains/:ref/migration/speed', { schema: { params: refParams } }, async (req) => ({
      bandwidth: await migrations.getSpeed(req.params.ref),
    }));

    app.put(
      '/domains/:ref/migration/speed',
      // MiB/s, 0 for unlimited; QEMU's limit is INT64_MAX bytes/s.
      { schema: { params: refParams, body: closed({ bandwidth: int(0, 8796093022207) }) } },
      async (req) => {
        await migrations.setSpeed(req.params.ref, req.body.bandwidth);
        return {};
      },
    );

    app.get('/domains/:ref/migration/max-downtime', { schema: { params: refParams } }, async (req) => ({
      downtime: await migrations.getMaxDowntime(req.params.ref),
    }));

    app.put(
      '/domains/:ref/migration/max-downtime',
      // ms; QEMU's downtime-limit is 0..2000 s, and virsh refuses 0 ("Invalid downtime").
      { schema: { params: refParams, body: closed({ downtime: int(1, 2_000_000) }) } },
      async (req) => {
        await migrations.setMaxDowntime(req.params.ref, req.body.downtime);
        return {};
      },
    );
  };
}
