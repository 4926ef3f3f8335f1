import type { TypedPlugin } from '../schemas/typed-plugin.js';
import type { ConsoleService } from '../../console/console-service.js';
import { FerryError } from '../../errors/ferry-error.js';
import { CONSOLE_DEVICE_HEADER, CONSOLE_DOMAIN_HEADER, CONSOLE_UPGRADE } from '../../shared/console-protocol.js';
import { bool, closed, nonEmpty, optional } from '../../shared/typed-schema.js';
import { switchProtocols, upgradedConnection } from '../upgrade.js';

/**
 * POST /domains/:ref/console (virsh console, virDomainOpenConsole): the
 * request is upgraded to the console's byte stream (shared/console-protocol.ts).
 * A POST, so read-only connections are refused it, as libvirt refuses them
 * virDomainOpenConsole. Failures before the upgrade are ordinary replies.
 */
export function consoleRoutes(consoles: ConsoleService): TypedPlugin {
  return async function consoleRoutesPlugin(app) {
    app.post(
      '/domains/:ref/console',
      {
        schema: {
          params: closed({ ref: nonEmpty() }),
          // safe: libvirt's VIR_DOMAIN_CONSOLE_SAFE; every ferry console is safe (one session per device).
          querystring: closed({ devname: optional(nonEmpty()), force: optional(bool()), safe: optional(bool()) }),
        },
      },
      async (req, reply) => {
        const upgrade = upgradedConnection(req, CONSOLE_UPGRADE);
        if (!upgrade) {
          throw new FerryError(
            'CONSOLE_UPGRADE_REQUIRED',
            `the console of a domain is a byte stream: send the request with "Connection: Upgrade" and "Upgrade: ${CONSOLE_UPGRADE}"`,
          );
        }
        const opened = await consoles.open(req.params.ref, {
          ...(req.query.devname ? { devname: req.query.devname } : {}),
          force: req.query.force ?? false,
        });
        reply.hijack();
        switchProtocols(upgrade.socket, CONSOLE_UPGRADE, {
          [CONSOLE_DOMAIN_HEADER]: encodeURIComponent(opened.domain),
          [CONSOLE_DEVICE_HEADER]: opened.device,
        });
        opened.attach(upgrade.socket, upgrade.head);
      },
    );
  };
}
