import { type DomainDefinition, type GraphicsDefinition, hasHostDevice } from '../vm/definition.js';
import { withAliases } from '../vm/device-aliases.js';
import { machineFamily } from '../vm/machine-family.js';
import { channelSocketKey } from '../vm/devices/channel.js';
import { portableListens } from './graphics-listens.js';
import { FerryError } from '../errors/ferry-error.js';
import { spiceNeedsTlsPort } from '../qemu/devices/spice-tls.js';

export interface LiveDefinitionInput {
  /** The versioned machine type to run. */
  machine: string;
  /** Serial output copy for ports without their own <log>. */
  serialLog: (port: number) => string;
  /** The tap name for interface i (bridge and network interfaces only). */
  tapName: (index: number) => string;
  /** The bridge of a virtual network on this host (interfaces of type='network'). */
  networkBridge: (network: string) => string;
  /** The socket of a unix channel written without a path (the guest agent's, as virt-install writes it). */
  channelSocket: (targetName: string) => string;
  /** Ports chosen at start for graphics i with autoport (and websocket='-1', SPICE's TLS port). */
  graphicsPorts: ReadonlyArray<{ port?: number; websocket?: number; tlsPort?: number }>;
  /** The socket of the domain's own dbus-daemon (a D-Bus display with neither address nor p2p). */
  dbusSocket?: string;
  /** The ivshmem server socket of a <shmem> doorbell written as <server/> (no path): the host's default for its name. */
  shmemSocket?: (name: string) => string;
}

/**
 * The definition a domain runs with: the persistent one plus what ferryd
 * decides at start (versioned machine, tap devices, serial log files, the
 * bridge of each virtual network, shown as libvirt shows it:
 * <source network='vmnet' bridge='br1'/>; channel sockets, graphics ports and
 * every device's QEMU id). dumpxml of a running domain shows this.
 */
export function liveDefinition(def: DomainDefinition, input: LiveDefinitionInput): DomainDefinition {
  const live: DomainDefinition = withAliases(def, machineFamily(input.machine) === 'q35');
  live.os.machine = input.machine;
  live.devices.serials = live.devices.serials.map((s) => (s.logFile ? s : { ...s, logFile: input.serialLog(s.port), logAppend: true }));
  live.devices.interfaces = live.devices.interfaces.map((iface, i) => {
    if (!hasHostDevice(iface)) return iface;
    const source =
      iface.type === 'network' ? { network: iface.source.network as string, bridge: input.networkBridge(iface.source.network as string) } : iface.source;
    return { ...iface, source, targetDev: iface.targetDev ?? input.tapName(i) };
  });
  live.devices.channels = live.devices.channels.map((c) =>
    c.type === 'unix' && c.sourcePath === undefined && c.targetType === 'virtio'
      ? { ...c, sourcePath: input.channelSocket(channelSocketKey(c)), sourceMode: 'bind' }
      : c,
  );
  const shmemSocket = input.shmemSocket;
  if (live.devices.shmems && shmemSocket) {
    live.devices.shmems = live.devices.shmems.map((s) => (s.server && s.server.path === undefined ? { ...s, server: { path: shmemSocket(s.name) } } : s));
  }
  live.devices.graphics = live.devices.graphics.map((g, i) => {
    // A D-Bus display without a bus of its own is on the domain's dbus-daemon, shown in the live XML as libvirt does.
    if (g.type === 'dbus') {
      return g.dbusAddress !== undefined || g.p2p || input.dbusSocket === undefined
        ? g
        : { ...g, dbusAddress: `unix:path=${input.dbusSocket}`, dbusAddressGenerated: true };
    }
    const chosen = input.graphicsPorts[i] ?? {};
    return {
      ...g,
      ...(chosen.port === undefined ? {} : { port: chosen.port }),
      ...(chosen.websocket === undefined ? {} : { websocket: chosen.websocket, websocketGenerated: true }),
      ...(chosen.tlsPort === undefined ? {} : { tlsPort: chosen.tlsPort, ...(g.autoport ? {} : { tlsPortGenerated: true }) }),
    };
  });
  return live;
}

/**
 * Which graphics ports start must choose: autoport's port, a websocket of -1,
 * and SPICE's TLS port (tlsPort='-1', or autoport by libvirt's rule,
 * spiceNeedsTlsPort). `spiceTls`: the host has SPICE TLS (spice_tls); a TLS
 * port to choose without it is refused, as libvirt refuses it.
 */
export function portsToChoose(g: GraphicsDefinition, spiceTls = false): { port: boolean; websocket: boolean; tlsPort: boolean } {
  const listening = g.listens[0]?.type !== 'none' && g.listens[0]?.type !== 'socket';
  const unset = g.tlsPort === undefined || g.tlsPort === -1;
  const tlsPort = g.type === 'spice' && listening && unset && (g.autoport ? spiceNeedsTlsPort(g, spiceTls) : g.tlsPort === -1);
  if (tlsPort && !spiceTls) {
    throw new FerryError(
      'DISPLAY_TLS_UNAVAILABLE',
      'unsupported configuration: Auto allocation of spice TLS port requested but spice TLS is disabled in ferryd.conf (spice_tls)',
      { details: { element: 'graphics' } },
    );
  }
  return { port: listening && g.autoport && (g.port === undefined || g.port === -1), websocket: g.websocket === -1, tlsPort };
}

/**
 * The inverse of liveDefinition(): the definition without what this host added
 * at start (its serial log paths, tap names, network bridges, channel sockets,
 * chosen graphics ports and QEMU ids), as it travels to another host, where the
 * same network may use another bridge. Device addresses stay: the destination
 * must build the very same machine.
 */
export function portableDefinition(
  live: DomainDefinition,
  input: Pick<LiveDefinitionInput, 'serialLog' | 'tapName' | 'channelSocket' | 'dbusSocket' | 'shmemSocket'> & {
    graphicsSocket?: (type: 'vnc' | 'spice') => string;
  },
): DomainDefinition {
  const def: DomainDefinition = structuredClone(live);
  // placement='auto' is advised again by the host that starts it.
  delete def.numaAdvice;
  const d = def.devices;
  for (const list of [
    d.disks,
    d.interfaces,
    d.serials,
    d.consoles,
    d.channels,
    d.controllers,
    d.inputs,
    d.videos,
    d.sounds,
    d.redirdevs,
    d.rngs,
    d.watchdogs,
    d.panics,
  ]) {
    for (const x of list as Array<{ alias?: string }>) delete x.alias;
  }
  if (d.memballoon) delete d.memballoon.alias;
  if (d.tpm) delete d.tpm.alias;
  if (d.iommu) delete d.iommu.alias;
  if (d.pstore) delete d.pstore.alias;
  for (const x of [...(d.hubs ?? []), ...(d.parallels ?? []), ...(d.smartcards ?? [])]) delete x.alias;
  for (const m of d.memories ?? []) delete m.alias;
  for (const f of d.filesystems ?? []) delete f.alias;
  for (const s of d.shmems ?? []) {
    delete s.alias;
    // The default server socket is this host's: the destination fills in its own.
    if (s.server?.path !== undefined && s.server.path === input.shmemSocket?.(s.name)) s.server = {};
  }
  d.serials = d.serials.map((s) => {
    const { sourcePath: pty, ...noPty } = s;
    const base = s.type === 'pty' && pty !== undefined ? noPty : s;
    if (base.logFile !== input.serialLog(s.port)) return base;
    const { logFile: _f, logAppend: _a, ...rest } = base;
    return rest;
  });
  d.consoles = d.consoles.map((c) => {
    if (c.type !== 'pty' || c.sourcePath === undefined) return c;
    const { sourcePath: _p, ...rest } = c;
    return rest;
  });
  d.interfaces = d.interfaces.map((iface, i) => {
    const portable = iface.type === 'network' ? { ...iface, source: { network: iface.source.network as string } } : iface;
    if (portable.targetDev !== input.tapName(i)) return portable;
    const { targetDev: _t, ...rest } = portable;
    return rest;
  });
  d.channels = d.channels.map((c) => {
    const { targetState: _s, ...rest } = c;
    if (c.type !== 'unix' || c.targetType !== 'virtio' || c.sourcePath !== input.channelSocket(channelSocketKey(c))) return rest;
    const { sourcePath: _p, ...noPath } = rest;
    return noPath;
  });
  // An autoport display gets a port of its own on the destination, and so does a websocket='-1'.
  // Listen addresses and sockets this host chose (resolveGraphicsListens) are chosen again there.
  d.graphics = d.graphics.map((g) => {
    if (g.type === 'dbus') {
      // The destination starts a bus of its own.
      const { dbusAddress, dbusAddressGenerated, ...own } = g;
      return dbusAddressGenerated || (input.dbusSocket !== undefined && dbusAddress === `unix:path=${input.dbusSocket}`) ? own : g;
    }
    const { websocketGenerated, port, tlsPort, tlsPortGenerated, ...rest } = g;
    return {
      ...rest,
      ...(g.autoport || port === undefined ? {} : { port }),
      // A written tlsPort='-1' travels as written; a port chosen at start is chosen again there.
      ...(tlsPort === -1 ? { tlsPort: -1 } : g.autoport || tlsPort === undefined ? {} : { tlsPort: tlsPortGenerated ? -1 : tlsPort }),
      ...(websocketGenerated ? { websocket: -1 } : {}),
      listens: portableListens(g, input.graphicsSocket),
    };
  });
  return def;
}
