import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { HostService } from '../../host/host-service.js';
import { bool, closed, int, integer, mapOf, nonEmpty, optional, str } from '../../shared/typed-schema.js';

const refParams = closed({ ref: nonEmpty() });
const affect = { live: optional(bool()), config: optional(bool()) };
const affectQuery = closed(affect);

/** virsh schedinfo, blkiotune and memtune: a domain's CPU weight/bandwidth and I/O tuning (src/host/tuning-control.ts). The HTTP side only parses. */
export function tuningRoutes(service: HostService): TypedPlugin {
  return async function tuningRoutesPlugin(app) {
    app.get('/domains/:ref/schedinfo', { schema: { params: refParams, querystring: affectQuery } }, async (req) => ({
      parameters: service.tuning.schedinfo(req.params.ref, req.query),
    }));

    app.put('/domains/:ref/schedinfo', { schema: { params: refParams, body: closed({ parameters: mapOf(integer()), ...affect }) } }, async (req) => {
      const { parameters, ...flags } = req.body;
      await service.tuning.setSchedinfo(req.params.ref, parameters, flags);
      return { parameters: service.tuning.schedinfo(req.params.ref, flags) };
    });

    app.get('/domains/:ref/blkiotune', { schema: { params: refParams, querystring: affectQuery } }, async (req) => ({
      parameters: service.tuning.blkiotune(req.params.ref, req.query),
    }));

    app.get('/domains/:ref/memtune', { schema: { params: refParams, querystring: affectQuery } }, async (req) => ({
      parameters: service.tuning.memtune(req.params.ref, req.query),
    }));

    const device = str();
    app.put(
      '/domains/:ref/blkiotune',
      {
        schema: {
          params: refParams,
          body: closed({
            weight: optional(int(0, 4294967295)),
            devices: optional(
              closed({
                device_weight: optional(device),
                device_read_iops_sec: optional(device),
                device_write_iops_sec: optional(device),
                device_read_bytes_sec: optional(device),
                device_write_bytes_sec: optional(device),
              }),
            ),
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
