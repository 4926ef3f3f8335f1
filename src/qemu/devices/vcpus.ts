import type { DomainDefinition } from '../../vm/definition.js';
import { effectiveTopology, vcpuSlot, vcpuStates } from '../../vm/vcpus.js';
import { qemuTarget } from '../emulator.js';

/**
 * -smp: the vCPUs booted with the machine (online, not hot-pluggable), the
 * maximum and the topology. Without <topology> and with all vCPUs online it
 * stays `-smp N`, as ferry always started such domains.
 */
export function smpArg(def: DomainDefinition): string {
  const states = vcpuStates(def);
  const boot = states.filter((s) => !s.hotpluggable).length;
  const explicit = def.cpu?.topology;
  if (!explicit && boot === def.vcpus) return String(def.vcpus);
  const t = effectiveTopology(def);
  const parts = [String(boot)];
  if (boot !== def.vcpus) parts.push(`maxcpus=${def.vcpus}`);
  parts.push(`sockets=${t.sockets}`);
  if (explicit) parts.push(`dies=${t.dies}`);
  if (explicit?.clusters !== undefined) parts.push(`clusters=${t.clusters}`);
  parts.push(`cores=${t.cores}`, `threads=${t.threads}`);
  return parts.join(',');
}

/** QEMU's CPU device type for a -cpu model: max → max-x86_64-cpu (max-i386-cpu on qemu-system-i386). */
export function vcpuDeviceType(cpuModel: string, target: 'x86_64' | 'i386' = 'x86_64'): string {
  return `${cpuModel}-${target}-cpu`;
}

/** The id a hot-plugged vCPU has in QEMU (libvirt's: vcpuN). */
export function vcpuDeviceId(id: number): string {
  return `vcpu${id}`;
}

/** The properties of vCPU `id`'s device: its id and its CPU slot. */
export function vcpuDeviceProps(def: DomainDefinition, id: number, cpuModel: string): Record<string, string | number> {
  return { driver: vcpuDeviceType(cpuModel, qemuTarget(def)), id: vcpuDeviceId(id), ...vcpuSlot(def, id) };
}

/**
 * The hot-plugged vCPUs that are online, each a -device on the command line
 * (in the order they came online), so a started or migrated domain has the
 * very CPUs its definition says.
 */
export function vcpuDeviceArgs(def: DomainDefinition, cpuModel: string): string[] {
  const plugged = vcpuStates(def)
    .filter((s) => s.enabled && s.hotpluggable)
    .sort((a, b) => (a.order ?? a.id + def.vcpus) - (b.order ?? b.id + def.vcpus));
  return plugged.flatMap((s) => {
    const props = vcpuDeviceProps(def, s.id, cpuModel);
    return [
      '-device',
      Object.entries(props)
        .map(([k, v]) => (k === 'driver' ? String(v) : `${k}=${v}`))
        .join(','),
    ];
  });
}
