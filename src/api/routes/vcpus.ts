import type { FastifyPluginAsync } from 'fastify';
import type { HostService } from '../../host/host-service.js';
import { bool, int, nonEmpty, object } from '../schemas/json-schema.js';

const refParams = object({ ref: nonEmpty() }, ['ref']);
const affect = { live: bool(), config: bool() };
const affectQuery = object({ live: bool(), config: bool() });

/** vCPU resources of a domain: count, hotplug, per-vCPU information and pinning. The HTTP side only parses. */
export function vcpuRoutes(service: HostService): FastifyPluginAsync {
  return async function vcpuRoutesPlugin(app) {
    app.get<{ Params: { ref: string } }>('/domains/:ref/vcpus/count', { schema: { params: refParams } }, async (req) => ({
      count: service.vcpus.count(req.params.ref),
    }));

    app.put<{ Params: { ref: string }; Body: { count: number; live?: boolean; config?: boolean; maximum?: boolean; guest?: boolean } }>(
      '/domains/:ref/vcpus/count',
      { schema: { params: refParams, body: object({ count: int(0), ...affect, maximum: bool(), guest: bool() }, ['count']) } },
      async (req) => {
        const { count, ...flags } = req.body;
        await service.vcpus.setVcpus(req.params.ref, count, flags);
        return { count: service.vcpus.count(req.params.ref) };
      },
    );

    app.get<{ Params: { ref: string } }>('/domains/:ref/vcpus', { schema: { params: refParams } }, async (req) => ({
      vcpus: await service.vcpus.info(req.params.ref),
    }));

    app.get<{ Params: { ref: string }; Querystring: { live?: boolean; config?: boolean } }>(
      '/domains/:ref/vcpus/pins',
      { schema: { params: refParams, querystring: affectQuery } },
      async (req) => ({ pins: await service.vcpus.pins(req.params.ref, req.query) }),
    );

    app.put<{ Params: { ref: string; vcpu: number }; Body: { cpuset: string; live?: boolean; config?: boolean } }>(
      '/domains/:ref/vcpus/pins/:vcpu',
      { schema: { params: object({ ref: nonEmpty(), vcpu: int(0) }, ['ref', 'vcpu']), body: object({ cpuset: nonEmpty(), ...affect }, ['cpuset']) } },
      async (req) => {
        const { cpuset, ...flags } = req.body;
        await service.vcpus.pin(req.params.ref, req.params.vcpu, cpuset, flags);
        return { pins: await service.vcpus.pins(req.params.ref, flags) };
      },
    );

    app.get<{ Params: { ref: string }; Querystring: { live?: boolean; config?: boolean } }>(
      '/domains/:ref/emulatorpin',
      { schema: { params: refParams, querystring: affectQuery } },
      async (req) => ({ cpuset: await service.vcpus.emulatorPin(req.params.ref, req.query) }),
    );

    app.get<{ Params: { ref: string }; Querystring: { live?: boolean; config?: boolean } }>(
      '/domains/:ref/numatune',
      { schema: { params: refParams, querystring: affectQuery } },
      async (req) => ({ numatune: service.vcpus.numatune(req.params.ref, req.query) }),
    );

    app.put<{ Params: { ref: string }; Body: { cpuset: string; live?: boolean; config?: boolean } }>(
      '/domains/:ref/emulatorpin',
      { schema: { params: refParams, body: object({ cpuset: nonEmpty(), ...affect }, ['cpuset']) } },
      async (req) => {
        const { cpuset, ...flags } = req.body;
        await service.vcpus.setEmulatorPin(req.params.ref, cpuset, flags);
        return { cpuset: await service.vcpus.emulatorPin(req.params.ref, flags) };
      },
    );
  };
}
