import { FerryError } from '../errors/ferry-error.js';
import { needsPlacementAdvice } from '../vm/auto-placement.js';
import { formatCpuset } from '../vm/cpuset.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { HostNumaNode } from './numa-topology.js';

/** Automatic placement's advice: the host nodes for the guest's memory and the host CPUs of those nodes. */
export interface NumaAdvice {
  nodes: number[];
  cpus: number[];
}

/**
 * What libvirt asks numad for at start (`numad -w vcpus:MiB`), computed here:
 * the smallest set of host nodes whose free memory holds `memoryKiB` (of the
 * sets that small, the one with the most free memory: the nodes with the most
 * free memory, lower id first on a tie), and the CPUs of those nodes. Nodes
 * without memory never hold guest RAM. NUMA_PLACEMENT_UNFIT when even all
 * nodes together lack the memory.
 */
export function adviseNumaPlacement(topology: readonly HostNumaNode[], memoryKiB: number): NumaAdvice {
  const candidates = topology.filter((n) => n.memTotalKiB > 0).sort((a, b) => b.memFreeKiB - a.memFreeKiB || a.id - b.id);
  const chosen: HostNumaNode[] = [];
  let free = 0;
  for (const node of candidates) {
    if (free >= memoryKiB && chosen.length > 0) break;
    chosen.push(node);
    free += node.memFreeKiB;
  }
  if (chosen.length === 0 || free < memoryKiB) {
    const all =
      candidates.map((n) => `node ${n.id}: ${Math.floor(n.memFreeKiB / 1024)} MiB free`).join(', ') || 'no NUMA nodes shown in /sys/devices/system/node';
    throw new FerryError(
      'NUMA_PLACEMENT_UNFIT',
      `placement='auto': no set of host NUMA nodes has ${Math.ceil(memoryKiB / 1024)} MiB free for the domain (${all})`,
      {
        details: { memoryKiB, nodes: candidates.map((n) => ({ id: n.id, freeKiB: n.memFreeKiB })) },
      },
    );
  }
  const nodes = chosen.map((n) => n.id).sort((a, b) => a - b);
  const cpus = [...new Set(chosen.flatMap((n) => n.cpus))].sort((a, b) => a - b);
  return { nodes, cpus };
}

/**
 * The live definition with its automatic placement settled (libvirt's
 * qemuProcessPrepareDomainNUMAPlacement): the advice's nodes for
 * <numatune><memory placement='auto'> (with the nodes' CPUs, when no node
 * has any: every CPU of the host), its CPUs for <vcpu placement='auto'>.
 * A definition with no placement='auto' comes back as it is.
 */
export function withNumaAdvice(def: DomainDefinition, topology: readonly HostNumaNode[]): DomainDefinition {
  const next: DomainDefinition = { ...def };
  delete next.numaAdvice;
  if (!needsPlacementAdvice(def)) return next;
  const advice = adviseNumaPlacement(topology, def.memoryKiB);
  const cpus = advice.cpus.length > 0 ? advice.cpus : [...new Set(topology.flatMap((n) => n.cpus))].sort((a, b) => a - b);
  const memory = def.memoryLayout?.numatune?.memory;
  next.numaAdvice = {
    ...(memory && 'placement' in memory ? { nodeset: formatCpuset(advice.nodes) } : {}),
    ...(def.vcpuPlacement === 'auto' ? { cpuset: formatCpuset(cpus) } : {}),
  };
  return next;
}
