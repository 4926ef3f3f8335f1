import type { FastifyPluginAsync } from 'fastify';
import type { HostService } from '../../host/host-service.js';
import { bool, int, nonEmpty, object, str } from '../schemas/json-schema.js';

const refParams = object({ ref: nonEmpty() }, ['ref']);
const affect = { live: bool(), config: bool() };
const affectQuery = object(affect);
const anyInt = { type: 'integer' } as const;

/** virsh schedinfo, blkiotune and memtune: a domain's CPU weight/bandwidth and I/O tuning (src/host/tuning-control.ts). The HTTP side only parses. */
export function tuningRoutes(service: HostService): FastifyPluginAsync {
  return async function tuningRoutesPlugin(app) {
    app.get<{ Params: { ref: string }; Querystring: { live?: boolean; config?: boolean } }>(
      '/domains/:ref/schedinfo',
      { schema: { params: refParams, querystring: affectQuery } },
      async (req) => ({ parameters: service.tuning.schedinfo(req.params.ref, req.query) }),
    );

    app.put<{ Params: { ref: string }; Body: { parameters: Record<string, number>; live?: boolean; config?: boolean } }>(
      '/domains/:ref/schedinfo',
      { schema: { params: refParams, body: object({ parameters: { type: 'object', additionalProperties: anyInt }, ...affect }, ['parameters']) } },
      async (req) => {
        const { parameters, ...flags } = req.body;
        await service.tuning.setSchedinfo(req.params.ref, parameters, flags);
        return { parameters: service.tuning.schedinfo(req.params.ref, flags) };
      },
    );

    app.get<{ Params: { ref: string }; Querystring: { live?: boolean; config?: boolean } }>(
      '/domains/:ref/blkiotune',
      { schema: { params: refParams, querystring: affectQuery } },
      async (req) => ({ parameters: service.tuning.blkiotune(req.params.ref, req.query) }),
    );

    app.get<{ Params: { ref: string }; Querystring: { live?: boolean; config?: boolean } }>(
      '/domains/:ref/memtune',
      { schema: { params: refParams, querystring: affectQuery } },
      async (req) => ({ parameters: service.tuning.memtune(req.params.ref, req.query) }),
    );

    const device = str();
    app.put<{ Params: { ref: string }; Body: { weight?: number; devices?: Record<string, string>; live?: boolean; config?: boolean } }>(
      '/domains/:ref/blkiotune',
      {
        schema: {
          params: refParams,
          body: object({
            weight: int(0, 4294967295),
            devices: object({
              device_weight: device,
              device_read_iops_sec: device,
              device_write_iops_sec: device,
              device_read_bytes_sec: device,
              device_write_bytes_sec: device,
            }),
            ...affect,
          }),
        },
      },
      async (req) => {
        const { weight, devices, ...flags } = req.body;
        await service.tuning.setBlkiotune(req.params.ref, weight, devices ?? {}, flags);
        return { parameters: service.tuning.blkiotune(req.params.ref, flags) };
      },
    );
  };
}
