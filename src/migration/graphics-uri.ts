import type { GraphicsTarget } from '../common/graphics-uri.js';
import type { GraphicsDefinition } from '../vm/definition.js';

/** What the destination's displays got at Prepare: its QEMU's listen address and ports. */
export interface DestinationDisplay {
  type: GraphicsDefinition['type'];
  address?: string;
  port?: number;
  /** SPICE's TLS port there. */
  tlsPort?: number;
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
