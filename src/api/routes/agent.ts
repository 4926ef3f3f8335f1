import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { HostService } from '../../host/host-service.js';
import { arrayOf, bool, closed, int, nonEmpty, nullableClosed, oneOf, optional, str } from '../../shared/typed-schema.js';

const refParams = closed({ ref: nonEmpty() });
const GUESTINFO_TYPES = ['os', 'hostname', 'timezone', 'users', 'filesystem'] as const;
type GuestInfoType = (typeof GUESTINFO_TYPES)[number];

/** The guest agent's resources: the HTTP side only parses and calls the domain's agent through HostService. */
export function agentRoutes(service: HostService): TypedPlugin {
  return async function agentRoutesPlugin(app) {
    // virsh qemu-agent-command: the command as JSON text; timeoutSeconds 0 waits as long as it takes (--block).
    app.post(
      '/domains/:ref/agent-command',
      { schema: { params: refParams, body: closed({ command: nonEmpty(), timeoutSeconds: optional(int(0, 86_400)) }) } },
      async (req) => {
        const agent = await service.guestAgent(req.params.ref);
        const t = req.body.timeoutSeconds;
        return { reply: await agent.raw(req.body.command, t === undefined ? {} : { timeoutMs: t * 1000 }) };
      },
    );

    // virsh domifaddr: the guest's own view of its interfaces (source agent).
    app.get(
      '/domains/:ref/addresses',
      { schema: { params: refParams, querystring: closed({ source: optional(oneOf(['lease', 'agent', 'arp'])) }) } },
      async (req) => {
        const source = req.query.source ?? 'lease';
        if (source !== 'agent') {
          service.lookup(req.params.ref);
          throw new FerryError('NOT_SUPPORTED', `this function is not supported by the connection driver: interface addresses from source '${source}'`, {
            hint:
              source === 'lease'
                ? "ferry's networks run no DHCP server, so there are no leases to read: use --source agent (the guest agent)"
                : "ferry does not read the host's ARP table: use --source agent (the guest agent)",
          });
        }
        const agent = await service.guestAgent(req.params.ref);
        const interfaces = await agent.networkInterfaces();
        return {
          interfaces: interfaces.map((i) => ({
            name: i.name,
            hwaddr: i['hardware-address'] ?? null,
            addrs: (i['ip-addresses'] ?? []).map((a) => ({ type: a['ip-address-type'], addr: a['ip-address'], prefix: a.prefix })),
          })),
        };
      },
    );

    // virsh guestinfo: the groups asked for (all when none is).
    app.get('/domains/:ref/guestinfo', { schema: { params: refParams, querystring: closed({ types: optional(str()) }) } }, async (req) => {
      const asked = (req.query.types ?? '').split(',').filter(Boolean);
      for (const t of asked) {
        if (!(GUESTINFO_TYPES as readonly string[]).includes(t)) {
          throw new FerryError('INVALID_ARGUMENT', `unsupported guest info type '${t}'`, { hint: `One of: ${GUESTINFO_TYPES.join(', ')}` });
        }
      }
      const types = new Set<GuestInfoType>(asked.length > 0 ? (asked as GuestInfoType[]) : GUESTINFO_TYPES);
      const agent = await service.guestAgent(req.params.ref);
      return {
        ...(types.has('users') ? { users: await agent.users() } : {}),
        ...(types.has('os') ? { os: await agent.osInfo() } : {}),
        ...(types.has('timezone') ? { timezone: await agent.timezone() } : {}),
        ...(types.has('hostname') ? { hostname: await agent.hostname() } : {}),
        ...(types.has('filesystem') ? { filesystems: await agent.filesystems() } : {}),
      };
    });

    // virsh domtime: read the guest's clock, or set it (to a time, or with sync from the guest's own RTC).
    app.get('/domains/:ref/time', { schema: { params: refParams } }, async (req) => {
      return { time: await (await service.guestAgent(req.params.ref)).getTime() };
    });

    app.put(
      '/domains/:ref/time',
      { schema: { params: refParams, body: nullableClosed({ seconds: optional(int(0)), nseconds: optional(int(0, 999_999_999)), sync: optional(bool()) }) } },
      async (req) => {
        const b = req.body ?? {};
        if ((b.seconds === undefined) === !b.sync) {
          throw new FerryError('INVALID_ARGUMENT', 'give either a time (seconds) or sync', { hint: 'ferry domtime <domain> --time <seconds> or --sync' });
        }
        const agent = await service.guestAgent(req.params.ref);
        if (b.sync) {
          await agent.setTime(); // the guest reads its RTC (libvirt's VIR_DOMAIN_TIME_SYNC)
        } else {
          await agent.setTime({ seconds: b.seconds as number, nseconds: b.nseconds ?? 0 });
        }
        return {};
      },
    );

    // virsh domfsfreeze / domfsthaw
    app.post(
      '/domains/:ref/fsfreeze',
      { schema: { params: refParams, body: nullableClosed({ mountpoints: optional(arrayOf(nonEmpty())) }) } },
      async (req) => ({ filesystems: await (await service.guestAgent(req.params.ref)).fsfreeze(req.body?.mountpoints) }),
    );

    app.post('/domains/:ref/fsthaw', { schema: { params: refParams } }, async (req) => ({
      filesystems: await (await service.guestAgent(req.params.ref)).fsthaw(),
    }));
  };
}
