import type { GraphicsDefinition, GraphicsListen } from '../vm/definition.js';

export interface ListenDefaults {
  /** ferryd.conf's vnc_listen / spice_listen (qemu.conf's): for a display that names no address. */
  vncListen: string;
  spiceListen: string;
  /** The address of a virtual network on this host (<listen type='network'>); throws DISPLAY_LISTEN_UNAVAILABLE if it has none. */
  networkAddress: (network: string) => string;
  /** The socket of a <listen type='socket'/> written without one: in the domain's run directory. */
  socketPath: (type: 'vnc' | 'spice') => string;
}

/**
 * Where each display listens on this host, as libvirt resolves it at start:
 * no <listen> or <listen type='address'/> without an address is the
 * configured default, type='network' is the network's address here, and a
 * socket without a path gets one in the run directory. What this host chose
 * is marked `generated`, so a migration leaves it for the destination to choose.
 */
export function resolveGraphicsListens(graphics: readonly GraphicsDefinition[], d: ListenDefaults): GraphicsDefinition[] {
  // A D-Bus display listens on no address: its bus is resolved by liveDefinition().
  return graphics.map((g) => (g.type === 'dbus' ? g : { ...g, listens: [resolveListen(g, g.listens[0], d)] }));
}

function resolveListen(g: GraphicsDefinition, l: GraphicsListen | undefined, d: ListenDefaults): GraphicsListen {
  if (!l) return { type: 'address', address: g.type === 'vnc' ? d.vncListen : d.spiceListen, generated: true };
  switch (l.type) {
    case 'address':
      return l.address !== undefined ? l : { ...l, address: g.type === 'vnc' ? d.vncListen : d.spiceListen, generated: true };
    case 'network':
      // Always this host's: a network's address differs from host to host (libvirt resolves it at every start).
      return { ...l, address: d.networkAddress(l.network as string), generated: true };
    case 'socket':
      return l.socket !== undefined ? l : { ...l, socket: d.socketPath(g.type as 'vnc' | 'spice'), generated: true };
    case 'none':
      return l;
  }
}

/** The inverse for a migration: what this host chose goes, so the destination resolves its own. */
export function portableListens(g: GraphicsDefinition, socketPath?: (type: 'vnc' | 'spice') => string): GraphicsListen[] {
  if (g.type === 'dbus') return g.listens;
  return g.listens.flatMap((l): GraphicsListen[] => {
    // A socket in this host's run directory is this host's choice even when the mark was lost (a live XML read back after a restart).
    if (l.type === 'socket' && socketPath && l.socket === socketPath(g.type as 'vnc' | 'spice')) return [{ type: 'socket' }];
    if (l.type === 'network') {
      const { generated: _g, address: _a, ...rest } = l;
      return [rest];
    }
    if (!l.generated) return [l];
    if (l.type === 'address') return [];
    const { generated: _g, address: _a, socket: _s, ...rest } = l;
    return [rest];
  });
}
