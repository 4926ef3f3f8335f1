import { FerryError } from '../errors/ferry-error.js';
import type { CpuCatalog, CpuModelInfo } from '../shared/cpu-catalog.js';
import type { CpuDescription } from './cpu-descriptions.js';
import { canonicalFeature } from './feature-names.js';

export type CpuComparison = { result: 'identical' | 'superset' } | { result: 'incompatible'; missing: string[]; forbidden: string[] };

/** A named model of the catalog (an alias resolves to its versioned model's features), or CPU_MODEL_UNKNOWN. */
export function findModel(catalog: CpuCatalog, name: string): { info: CpuModelInfo; features: string[] } {
  const info = catalog.models.find((m) => m.name === name);
  if (!info) {
    throw new FerryError('CPU_MODEL_UNKNOWN', `Unknown CPU model ${name}`, {
      hint: `Use a model the hypervisor knows ("qemu-system-x86_64 -cpu help"), or "ferry hypervisor-cpu-baseline" to find one`,
    });
  }
  const target = info.aliasOf ? catalog.models.find((m) => m.name === info.aliasOf) : info;
  return { info, features: (target?.features ?? info.features ?? []).map(canonicalFeature) };
}

/** The features a described CPU gives its guest: its model's, plus required and forced ones, less disabled and forbidden ones. */
export function describedFeatures(catalog: CpuCatalog, cpu: CpuDescription): Set<string> {
  if (cpu.mode !== 'custom') return new Set(catalog.hostFeatures.map(canonicalFeature));
  const set = new Set(cpu.model ? findModel(catalog, cpu.model).features : []);
  for (const f of cpu.features) {
    if (f.policy === 'require' || f.policy === 'force') set.add(f.name);
    else if (f.policy === 'disable' || f.policy === 'forbid') set.delete(f.name);
  }
  return set;
}

/**
 * What the hypervisor's QEMU gives a guest with this CPU: x86 QEMU has no
 * query-cpu-model-comparison, so (as libvirt does on x86) ferry compares the
 * described features with the host CPU's ('max' under TCG, 'host' under KVM),
 * adding the model's unavailable features for this accelerator.
 */
export function compareCpu(catalog: CpuCatalog, cpu: CpuDescription): CpuComparison {
  if (cpu.mode !== 'custom') return { result: 'identical' };
  const host = new Set(catalog.hostFeatures.map(canonicalFeature));
  const wanted = describedFeatures(catalog, cpu);
  const off = new Set(cpu.features.filter((f) => f.policy === 'disable' || f.policy === 'forbid').map((f) => f.name));
  const missing = new Set([...wanted].filter((f) => !host.has(f)));
  if (cpu.model) for (const f of findModel(catalog, cpu.model).info.unavailable.map(canonicalFeature)) if (!off.has(f)) missing.add(f);
  const forbidden = cpu.features.filter((f) => f.policy === 'forbid' && host.has(f.name)).map((f) => f.name);
  if (missing.size > 0 || forbidden.length > 0) return { result: 'incompatible', missing: [...missing].sort(), forbidden: forbidden.sort() };
  return [...host].every((f) => wanted.has(f)) ? { result: 'identical' } : { result: 'superset' };
}

/** libvirt's reason for an incompatible CPU. */
export function incompatibility(c: Extract<CpuComparison, { result: 'incompatible' }>): string {
  const parts: string[] = [];
  if (c.missing.length > 0) parts.push(`Host CPU does not provide required features: ${c.missing.join(', ')}`);
  if (c.forbidden.length > 0) parts.push(`Host CPU provides forbidden features: ${c.forbidden.join(', ')}`);
  return parts.join('; ');
}
