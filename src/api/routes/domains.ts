import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { callerName } from '../access.js';
import type { HostService } from '../../host/host-service.js';
import { diskEditSchema } from '../../shared/api-types.js';
import { FerryError } from '../../errors/ferry-error.js';
import { describeDiskSource } from '../../vm/definition.js';
import { networkNvramOf } from '../../host/nvram-store.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { bool, closed, int, nonEmpty, nullableClosed, oneOf, openObject, optional } from '../../shared/typed-schema.js';

const refParams = closed({ ref: nonEmpty() });
const defineBody = closed({ xml: nonEmpty() });
const createBody = closed({ xml: nonEmpty(), paused: optional(bool()) });
const inactiveQuery = closed({ inactive: optional(bool()) });

const ACTIONS = ['start', 'shutdown', 'destroy', 'reboot', 'reset', 'suspend', 'resume', 'inject-nmi'] as const;

/** Domain resources: the HTTP side only parses and calls HostService. */
export function domainRoutes(service: HostService): TypedPlugin {
  return async function domainRoutesPlugin(app) {
    app.get('/domains', { schema: { querystring: closed({ all: optional(bool()), inactive: optional(bool()) }) } }, async (req) => ({
      domains: service.list(req.query),
    }));

    app.post('/domains', { schema: { body: defineBody } }, async (req) => {
      const rec = await service.define(req.body.xml);
      return { domain: { name: rec.name, uuid: rec.uuid } };
    });

    app.post('/domains/create', { schema: { body: createBody } }, async (req) => {
      const rec = await service.create(req.body.xml, req.body.paused === undefined ? {} : { paused: req.body.paused });
      return { domain: { name: rec.name, uuid: rec.uuid, id: rec.domainId } };
    });

    app.get('/domains/:ref', { schema: { params: refParams } }, async (req) => ({
      domain: service.info(req.params.ref),
    }));

    app.get('/domains/:ref/state', { schema: { params: refParams } }, async (req) => {
      const rec = service.lookup(req.params.ref);
      return { name: rec.name, state: rec.state, reason: rec.reason };
    });

    app.get(
      '/domains/:ref/xml',
      { schema: { params: refParams, querystring: closed({ inactive: optional(bool()), secure: optional(bool()) }) } },
      async (req) => {
        // libvirt's VIR_DOMAIN_XML_SECURE: secrets only for callers who ask, and never over a read-only connection.
        if (req.query.secure && req.ferryCaller.readonly) {
          throw new FerryError('ACCESS_DENIED', 'operation forbidden: virDomainGetXMLDesc with secure flag', {
            hint: 'Secrets (a graphics password, http cookie values) are only shown on a read-write connection; drop --security-info or connect without -r',
          });
        }
        return { xml: service.dumpXml(req.params.ref, req.query) };
      },
    );

    app.get(
      '/domains/:ref/displays',
      { schema: { params: refParams, querystring: closed({ type: optional(oneOf(['vnc', 'spice'])), password: optional(bool()) }) } },
      async (req) => {
        // virsh domdisplay --include-password reads the secure XML: refused on a read-only connection.
        if (req.query.password && req.ferryCaller.readonly) {
          throw new FerryError('ACCESS_DENIED', 'operation forbidden: virDomainGetXMLDesc with secure flag', {
            hint: 'A display password is only shown on a read-write connection; drop --include-password or connect without -r',
          });
        }
        return service.displays(req.params.ref, req.query);
      },
    );

    app.delete(
      '/domains/:ref',
      // tpm: what happens to an emulated TPM's state (virsh undefine --keep-tpm / --tpm); default: removed unless persistent_state='yes'.
      // nvram: the UEFI variable store (virsh undefine --nvram / --keep-nvram); an existing one must be named.
      // managedSave: a managed save image goes with the definition (virsh undefine --managed-save); without it one refuses.
      {
        schema: {
          params: refParams,
          querystring: closed({ tpm: optional(oneOf(['keep', 'remove'])), nvram: optional(oneOf(['remove', 'keep'])), managedSave: optional(bool()) }),
        },
      },
      async (req) => {
        const rec = await service.undefine(req.params.ref, {
          ...(req.query.tpm ? { tpm: req.query.tpm } : {}),
          ...(req.query.nvram ? { nvram: req.query.nvram } : {}),
          ...(req.query.managedSave ? { managedSave: true } : {}),
        });
        // A network NVRAM (<nvram type='network'>) is shared storage: never removed, not even with --nvram.
        const sharedNvram = rec.persistentXml === null ? undefined : networkNvramOf(parseDomainXml(rec.persistentXml));
        return { domain: { name: rec.name, uuid: rec.uuid }, ...(sharedNvram ? { nvramKept: sharedNvram } : {}) };
      },
    );

    app.post(
      '/domains/:ref/:action',
      {
        schema: {
          params: closed({ ref: nonEmpty(), action: oneOf(ACTIONS) }),
          body: nullableClosed({ paused: optional(bool()), forceBoot: optional(bool()), mode: optional(oneOf(['acpi', 'agent'])) }),
        },
      },
      async (req) => {
        const ref = req.params.ref;
        const before = service.lookup(ref);
        switch (req.params.action) {
          case 'start': {
            const rec = await service.start(ref, { paused: req.body?.paused ?? false, forceBoot: req.body?.forceBoot ?? false });
            return { domain: { name: rec.name, uuid: rec.uuid, id: rec.domainId, state: rec.state } };
          }
          case 'shutdown':
            await service.shutdown(ref, req.body?.mode ?? 'acpi');
            break;
          case 'destroy':
            await service.destroy(ref);
            break;
          case 'reboot':
            await service.reboot(ref);
            break;
          case 'reset':
            await service.reset(ref);
            break;
          case 'suspend':
            await service.suspend(ref);
            break;
          case 'resume':
            await service.resume(ref);
            break;
          case 'inject-nmi':
            await service.injectNmi(ref);
            break;
        }
        // A transient domain is gone once it stops: answer with what it was.
        let rec = before;
        try {
          rec = service.lookup(before.uuid);
        } catch {
          return { domain: { name: before.name, uuid: before.uuid, id: null, state: 'shutoff' } };
        }
        return { domain: { name: rec.name, uuid: rec.uuid, id: rec.domainId, state: rec.state } };
      },
    );

    app.get('/domains/:ref/disks', { schema: { params: refParams, querystring: inactiveQuery } }, async (req) => ({
      disks: service.definition(req.params.ref, req.query).devices.disks.map((d) => ({
        target: d.target.dev,
        bus: d.target.bus,
        type: d.type,
        device: d.device,
        source: describeDiskSource(d),
        format: d.format,
        cache: d.cache ?? 'default',
        io: d.io ?? null,
        readonly: d.readonly,
        shareable: d.shareable,
      })),
    }));

    app.patch(
      '/domains/:ref/disks/:target',
      {
        schema: {
          params: closed({ ref: nonEmpty(), target: nonEmpty() }),
          body: diskEditSchema,
        },
      },
      async (req) => {
        const { record, active } = await service.editDisk(req.params.ref, req.params.target, req.body);
        return { domain: { name: record.name, uuid: record.uuid }, active };
      },
    );

    app.post(
      '/domains/:ref/qemu-monitor-command',
      {
        schema: {
          params: refParams,
          // The arguments go to QEMU as they are: QEMU's own schema checks them.
          body: closed({ execute: nonEmpty(), arguments: optional(openObject()) }),
        },
      },
      async (req) => ({ return: (await service.monitorCommand(req.params.ref, req.body, callerName(req))) ?? {} }),
    );

    app.get('/domains/:ref/memory-stats', { schema: { params: refParams } }, async (req) => ({
      stats: await service.memoryStats(req.params.ref),
    }));

    app.put(
      '/domains/:ref/memory-stats-period',
      { schema: { params: refParams, body: closed({ period: int(0, 2 ** 31 - 1), live: bool(), config: bool() }) } },
      async (req) => {
        await service.setMemoryStatsPeriod(req.params.ref, req.body.period, req.body);
        return {};
      },
    );

    app.put(
      '/domains/:ref/memory',
      { schema: { params: refParams, body: closed({ kib: int(1, Number.MAX_SAFE_INTEGER), live: bool(), config: bool() }) } },
      async (req) => {
        await service.setMemory(req.params.ref, req.body.kib, req.body);
        return {};
      },
    );
  };
}
