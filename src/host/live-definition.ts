import type { DomainDefinition } from '../vm/definition.js';

export interface LiveDefinitionInput {
  /** The versioned machine type to run. */
  machine: string;
  /** Serial output copy for ports without their own <log>. */
  serialLog: (port: number) => string;
  /** The tap name for interface i (bridge and network interfaces only). */
  tapName: (index: number) => string;
  /** The bridge of a virtual network on this host (interfaces of type='network'). */
  networkBridge: (network: string) => string;
}

/**
 * The definition a domain runs with: the persistent one plus what ferryd
 * decides at start (versioned machine, tap devices, serial log files, the
 * bridge of each virtual network, shown as libvirt shows it:
 * <source network='vmnet' bridge='br1'/>). dumpxml of a running domain shows this.
 */
export function liveDefinition(def: DomainDefinition, input: LiveDefinitionInput): DomainDefinition {
  const live: DomainDefinition = structuredClone(def);
  live.os.machine = input.machine;
  live.devices.serials = live.devices.serials.map((s) =>
    s.logFile ? s : { ...s, logFile: input.serialLog(s.port), logAppend: true },
  );
  live.devices.interfaces = live.devices.interfaces.map((iface, i) => {
    if (iface.type === 'user') return iface;
    const source = iface.type === 'network' ? { network: iface.source.network as string, bridge: input.networkBridge(iface.source.network as string) } : iface.source;
    return { ...iface, source, targetDev: iface.targetDev ?? input.tapName(i) };
  });
  return live;
}

/**
 * The inverse of liveDefinition(): the definition without what this host added
 * at start (its serial log paths, tap names and network bridges), as it travels
 * to another host, where the same network may use another bridge.
 */
export function portableDefinition(live: DomainDefinition, input: Omit<LiveDefinitionInput, 'machine' | 'networkBridge'>): DomainDefinition {
  const def: DomainDefinition = structuredClone(live);
  def.devices.serials = def.devices.serials.map((s) => {
    if (s.logFile !== input.serialLog(s.port)) return s;
    const { logFile: _f, logAppend: _a, ...rest } = s;
    return rest;
  });
  def.devices.interfaces = def.devices.interfaces.map((iface, i) => {
    const portable = iface.type === 'network' ? { ...iface, source: { network: iface.source.network as string } } : iface;
    if (portable.targetDev !== input.tapName(i)) return portable;
    const { targetDev: _t, ...rest } = portable;
    return rest;
  });
  return def;
}
