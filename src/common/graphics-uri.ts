import { FerryError } from '../errors/ferry-error.js';

/** Where SPICE clients are told to reconnect during a migration (client_migrate_info): parsed by ferryd and, to refuse a bad --graphicsuri before sending, by the CLI. */
export interface GraphicsTarget {
  hostname: string;
  port?: number;
  tlsPort?: number;
}

/**
 * virsh migrate's graphicsuri: spice://HOST[:PORT][?tlsPort=N]. Anything else
 * is refused (libvirt: "unsupported graphics type"), as is a bad port.
 */
export function parseGraphicsUri(uri: string): GraphicsTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new FerryError('INVALID_ARGUMENT', `invalid argument: cannot parse graphics URI '${uri}'; expected spice://HOST[:PORT][?tlsPort=N]`);
  }
  if (url.protocol !== 'spice:') {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `invalid argument: unsupported graphics type '${url.protocol.replace(/:$/, '')}' in '${uri}': only SPICE clients can be told to move (spice://HOST[:PORT])`,
    );
  }
  if (!url.hostname) throw new FerryError('INVALID_ARGUMENT', `invalid argument: graphics URI '${uri}' names no host`);
  const target: GraphicsTarget = { hostname: url.hostname.replace(/^\[(.*)\]$/, '$1') };
  if (url.port) target.port = Number(url.port);
  const tls = url.searchParams.get('tlsPort');
  if (tls !== null) {
    const n = Number(tls);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new FerryError('INVALID_ARGUMENT', `invalid argument: bad tlsPort '${tls}' in graphics URI '${uri}'`);
    target.tlsPort = n;
  }
  return target;
}
