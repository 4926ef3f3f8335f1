import type { DomainDefinition } from './definition.js';

/**
 * Automatic NUMA placement (<vcpu placement='auto'>, <numatune><memory
 * placement='auto'>), settled as libvirt settles it when it reads a definition:
 * memory placed automatically makes the vCPUs placed automatically too, unless
 * something pins them (<vcpu cpuset>, <vcpupin>, <emulatorpin>, <iothreadpin>).
 * A live definition's advice (nodeset= beside placement='auto') is kept in
 * numaAdvice. Mutates and returns `def`.
 */
export function settleAutoPlacement(def: DomainDefinition, advisedNodeset: string | undefined): DomainDefinition {
  const t = def.cputune;
  const pinned = def.vcpuCpuset !== undefined || (t?.vcpupins.length ?? 0) > 0 || t?.emulatorpin !== undefined || (t?.iothreadpins?.length ?? 0) > 0;
  if (memoryPlacedAutomatically(def) && !pinned) def.vcpuPlacement = 'auto';
  if (advisedNodeset !== undefined && memoryPlacedAutomatically(def)) def.numaAdvice = { ...def.numaAdvice, nodeset: advisedNodeset };
  return def;
}

/** <numatune><memory placement='auto'>. */
export function memoryPlacedAutomatically(def: DomainDefinition): boolean {
  const m = def.memoryLayout?.numatune?.memory;
  return m !== undefined && 'placement' in m;
}

/** Does starting the domain need a placement advice (libvirt's virDomainDefNeedsPlacementAdvice)? */
export function needsPlacementAdvice(def: DomainDefinition): boolean {
  return def.vcpuPlacement === 'auto' || memoryPlacedAutomatically(def);
}

/**
 * virsh numatune's parameters of a definition: <numatune><memory>'s mode
 * (libvirt's default 'strict' without one) and its nodeset; with
 * placement='auto', the advice of a running domain (none in a persistent one).
 */
export function numatuneParameters(def: DomainDefinition): { mode: string; nodeset: string } {
  const m = def.memoryLayout?.numatune?.memory;
  if (!m) return { mode: 'strict', nodeset: '' };
  return { mode: m.mode, nodeset: 'nodeset' in m ? m.nodeset : (def.numaAdvice?.nodeset ?? '') };
}
