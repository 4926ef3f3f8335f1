import { FerryError } from '../errors/ferry-error.js';
import { el, renderXml } from '../shared/xml.js';
import type { CpuCatalog } from '../shared/cpu-catalog.js';
import { describedFeatures } from './cpu-compare.js';
import type { CpuDescription } from './cpu-descriptions.js';
import { canonicalFeature } from './feature-names.js';

export interface CpuBaseline {
  model: string;
  /** Features of every input that the model lacks. */
  require: string[];
  /** Features of the model that some input lacks. */
  disable: string[];
}

/**
 * The CPU every described CPU can run: the named model closest to the
 * features all of them share (fewest features added or taken away; then fewer
 * taken away, then the larger model, then its shortest name: an unversioned
 * alias such as Skylake-Server before Skylake-Server-v1), plus those changes.
 */
export function baselineCpu(catalog: CpuCatalog, cpus: CpuDescription[]): CpuBaseline {
  if (cpus.length === 0) throw new FerryError('INVALID_ARGUMENT', 'No CPU to compute a baseline of');
  const sets = cpus.map((c) => describedFeatures(catalog, c));
  const common = [...(sets[0] as Set<string>)].filter((f) => sets.every((s) => s.has(f)));
  const commonSet = new Set(common);
  let best: (CpuBaseline & { size: number }) | undefined;
  for (const m of catalog.models) {
    if (m.aliasOf || !m.features) continue;
    const features = new Set(m.features.map(canonicalFeature));
    const candidate = {
      model: displayName(catalog, m.name),
      require: common.filter((f) => !features.has(f)).sort(),
      disable: [...features].filter((f) => !commonSet.has(f)).sort(),
      size: features.size,
    };
    if (!best || better(candidate, best)) best = candidate;
  }
  if (!best) throw new FerryError('CPU_MODEL_UNKNOWN', 'The hypervisor reported no named CPU models');
  return { model: best.model, require: best.require, disable: best.disable };
}

function better(a: CpuBaseline & { size: number }, b: CpuBaseline & { size: number }): boolean {
  const cost = (x: CpuBaseline): number => x.require.length + x.disable.length;
  if (cost(a) !== cost(b)) return cost(a) < cost(b);
  if (a.disable.length !== b.disable.length) return a.disable.length < b.disable.length;
  if (a.size !== b.size) return a.size > b.size;
  return a.model.length < b.model.length || (a.model.length === b.model.length && a.model < b.model);
}

/** A versioned model's shortest alias (Skylake-Server-v1: Skylake-Server), else its own name. */
function displayName(catalog: CpuCatalog, name: string): string {
  const aliases = catalog.models
    .filter((m) => m.aliasOf === name)
    .map((m) => m.name)
    .sort((x, y) => x.length - y.length || (x < y ? -1 : 1));
  return aliases[0] ?? name;
}

/** The baseline as virsh prints it. */
export function renderBaseline(b: CpuBaseline): string {
  return renderXml(
    el('cpu', { mode: 'custom', match: 'exact' }, [
      el('model', { fallback: 'forbid' }, b.model),
      ...b.require.map((name) => el('feature', { policy: 'require', name })),
      ...b.disable.map((name) => el('feature', { policy: 'disable', name })),
    ]),
  );
}
