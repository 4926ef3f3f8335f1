import { existsSync, readFileSync } from 'node:fs';
import { onlineHostCpus } from '../system/cpu-affinity.js';
import { formatCpuset, parseCpuset } from '../vm/cpuset.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseNodeset } from '../vm/memory-layout.js';
import { type CheckResult, fail, pass } from '../shared/check-result.js';

/** A host CPU set or NUMA node set the definition pins to, with the element that names it. */
export interface PinnedSet {
  where: string;
  kind: 'cpus' | 'nodes';
  set: string;
}

/**
 * The host CPUs and NUMA nodes a definition names (static pinning only: with
 * placement='auto' the destination computes its own at start).
 */
export function pinnedSets(def: DomainDefinition): PinnedSet[] {
  const out: PinnedSet[] = [];
  const cpus = (where: string, set: string | undefined): void => void (set !== undefined && out.push({ where, kind: 'cpus', set }));
  const nodes = (where: string, set: string | undefined): void => void (set !== undefined && out.push({ where, kind: 'nodes', set }));
  if (def.vcpuPlacement !== 'auto') cpus('<vcpu cpuset>', def.vcpuCpuset);
  for (const p of def.cputune?.vcpupins ?? []) cpus(`<vcpupin vcpu='${p.vcpu}'>`, p.cpuset);
  cpus('<emulatorpin>', def.cputune?.emulatorpin);
  for (const p of def.cputune?.iothreadpins ?? []) cpus(`<iothreadpin iothread='${p.iothread}'>`, p.cpuset);
  const tune = def.memoryLayout?.numatune;
  if (tune?.memory && 'nodeset' in tune.memory) nodes('<numatune><memory>', tune.memory.nodeset);
  for (const m of tune?.memnodes ?? []) nodes(`<numatune><memnode cellid='${m.cellid}'>`, m.nodeset);
  (def.devices.memories ?? []).forEach((m, i) => nodes(`<memory model='${m.model}'> #${i} <nodemask>`, m.nodemask));
  return out;
}

export interface PinningHost {
  cpus: number[];
  nodes: number[];
}

export function readPinningHost(): PinningHost {
  const online = existsSync('/sys/devices/system/node/online') ? readFileSync('/sys/devices/system/node/online', 'utf8').trim() : '0';
  return { cpus: onlineHostCpus(), nodes: parseNodeset(online || '0', 'node') };
}

/**
 * The destination has every host CPU and NUMA node the domain is pinned to:
 * QEMU's threads could not be placed (cpus), or its memory not bound (nodes),
 * and the destination's start would fail half-way through the migration.
 */
export function pinningCheck(sets: readonly PinnedSet[], hostname: string, host: PinningHost = readPinningHost()): CheckResult {
  const have = { cpus: new Set(host.cpus), nodes: new Set(host.nodes) };
  const problems: string[] = [];
  for (const s of sets) {
    const missing = (s.kind === 'cpus' ? parseCpuset(s.set, 'cpuset') : parseNodeset(s.set, 'nodeset')).filter((n) => !have[s.kind].has(n));
    if (missing.length > 0)
      problems.push(`${s.where} names host ${s.kind === 'cpus' ? 'CPU' : 'NUMA node'}${missing.length > 1 ? 's' : ''} ${formatCpuset(missing)}`);
  }
  if (problems.length > 0) {
    return fail(
      'pinning',
      `${problems.join('; ')}, which ${hostname} does not have (CPUs ${formatCpuset(host.cpus)}, NUMA nodes ${formatCpuset(host.nodes)})`,
      "Pin to CPUs and nodes both hosts have (ferry vcpupin/emulatorpin --config, then restart), or use <vcpu placement='auto'> so each host chooses its own",
    );
  }
  return pass('pinning', `${hostname} has the ${sets.some((s) => s.kind === 'nodes') ? 'CPUs and NUMA nodes' : 'CPUs'} the domain is pinned to`);
}
