import type { DomainDefinition } from '../vm/definition.js';

export interface LiveDefinitionInput {
  /** The versioned machine type to run. */
  machine: string;
  /** Serial output copy for ports without their own <log>. */
  serialLog: (port: number) => string;
  /** The tap name for interface i (bridge and network interfaces only). */
  tapName: (index: number) => string;
}

/**
 * The definition a domain runs with: the persistent one plus what ferryd
 * decides at start (versioned machine, tap devices, serial log files).
 * dumpxml of a running domain shows this.
 */
export function liveDefinition(def: DomainDefinition, input: LiveDefinitionInput): DomainDefinition {
  const live: DomainDefinition = structuredClone(def);
  live.os.machine = input.machine;
  live.devices.serials = live.devices.serials.map((s) =>
    s.logFile ? s : { ...s, logFile: input.serialLog(s.port), logAppend: true },
  );
  live.devices.interfaces = live.devices.interfaces.map((iface, i) =>
    iface.type === 'user' ? iface : { ...iface, targetDev: iface.targetDev ?? input.tapName(i) },
  );
  return live;
}
