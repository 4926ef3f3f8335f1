import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { HostService } from '../../host/host-service.js';
import { bool, closed, int, nonEmpty, optional } from '../../shared/typed-schema.js';

const refParams = closed({ ref: nonEmpty() });
const affect = { live: optional(bool()), config: optional(bool()) };
const affectQuery = closed(affect);

/** vCPU resources of a domain: count, hotplug, per-vCPU information and pinning. The HTTP side only parses. */
export function vcpuRoutes(service: HostService): TypedPlugin {
  return async function vcpuRoutesPlugin(app) {
    app.get('/domains/:ref/vcpus/count', { schema: { params: refParams } }, async (req) => ({
      count: service.vcpus.count(req.params.ref),
    }));

    app.put(
      '/domains/:ref/vcpus/count',
      { schema: { params: refParams, body: closed({ count: int(0), ...affect, maximum: optional(bool()), guest: optional(bool()) }) } },
      async (req) => {
        const { count, ...flags } = req.body;
        await service.vcpus.setVcpus(req.params.ref, count, flags);
        return { count: service.vcpus.count(req.params.ref) };
      },
    );

    app.get('/domains/:ref/vcpus', { schema: { params: refParams } }, async (req) => ({
      vcpus: await service.vcpus.info(req.params.ref),
    }));

    app.get('/domains/:ref/vcpus/pins', { schema: { params: refParams, querystring: affectQuery } }, async (req) => ({
      pins: await service.vcpus.pins(req.params.ref, req.query),
    }));

    app.put(
      '/domains/:ref/vcpus/pins/:vcpu',
      { schema: { params: closed({ ref: nonEmpty(), vcpu: int(0) }), body: closed({ cpuset: nonEmpty(), ...affect }) } },
      async (req) => {
        const { cpuset, ...flags } = req.body;
        await service.vcpus.pin(req.params.ref, req.params.vcpu, cpuset, flags);
        return { pins: await service.vcpus.pins(req.params.ref, flags) };
      },
    );

    app.get('/domains/:ref/emulatorpin', { schema: { params: refParams, querystring: affectQuery } }, async (req) => ({
      cpuset: await service.vcpus.emulatorPin(req.params.ref, req.query),
    }));

    app.get('/domains/:ref/numatune', { schema: { params: refParams, querystring: affectQuery } }, async (req) => ({
      numatune: service.vcpus.numatune(req.params.ref, req.query),
    }));

    app.put('/domains/:ref/emulatorpin', { schema: { params: refParams, body: closed({ cpuset: nonEmpty(), ...affect }) } }, async (req) => {
      const { cpuset, ...flags } = req.body;
      await service.vcpus.setEmulatorPin(req.params.ref, cpuset, flags);
      return { cpuset: await service.vcpus.emulatorPin(req.params.ref, flags) };
    });
  };
}
