import { FerryError } from '../errors/ferry-error.js';
import type { GraphicsDefinition } from '../vm/definition.js';

/** Where SPICE clients are told to reconnect during a migration (client_migrate_info). */
export interface GraphicsTarget {
  hostname: string;
  port?: number;
  tlsPort?: number;
}

/** What the destination's displays got at Prepare: its QEMU's listen address and ports. */
export interface DestinationDisplay {
  type: GraphicsDefinition['type'];
  address?: string;
  port?: number;
  /** SPICE's TLS port there. */
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

/**
 * libvirt's default for client_migrate_info: the destination display's own
 * address, unless it listens on every address (then the host the migration
 * goes to), and the ports its QEMU got (plain and TLS); --graphicsuri overrides any part.
 */
export function spiceTarget(dest: readonly DestinationDisplay[] | undefined, destHost: string, override?: GraphicsTarget): GraphicsTarget | undefined {
  const spice = dest?.find((d) => d.type === 'spice');
  if (!spice && !override) return undefined;
  const wildcard = !spice?.address || spice.address === '0.0.0.0' || spice.address === '::';
  const hostname = override?.hostname ?? (wildcard ? destHost : (spice?.address as string));
  const port = override?.port ?? spice?.port;
  const tlsPort = override?.tlsPort ?? spice?.tlsPort;
  return { hostname, ...(port === undefined ? {} : { port }), ...(tlsPort === undefined ? {} : { tlsPort }) };
}
