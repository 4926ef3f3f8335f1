import { FerryError } from '../errors/ferry-error.js';
import { parseXml, type XmlElement } from '../shared/xml.js';
import { canonicalFeature } from './feature-names.js';

export type FeaturePolicy = 'require' | 'force' | 'optional' | 'disable' | 'forbid';

/** One <cpu> of a compare or baseline input: a guest CPU, a host CPU (capabilities) or domcapabilities' host-model. */
export interface CpuDescription {
  mode: 'custom' | 'host-model' | 'host-passthrough' | 'maximum';
  model?: string;
  check?: string;
  /** Canonical (QEMU) feature names. A host CPU's features carry no policy: they are 'require'. */
  features: Array<{ policy: FeaturePolicy; name: string }>;
}

const POLICIES: readonly string[] = ['require', 'force', 'optional', 'disable', 'forbid'];

/**
 * The CPUs a file describes, as virsh extracts them: every <cpu> of a bare
 * list, a domain XML, host capabilities (not the NUMA <cpus><cpu id=>) or
 * domain capabilities (its host-model <mode>).
 */
export function cpuDescriptions(text: string, file: string): CpuDescription[] {
  const body = text.replace(/^\s*<\?xml[^>]*\?>/, '');
  let root: XmlElement;
  try {
    root = parseXml(`<ferry-cpus>${body}</ferry-cpus>`);
  } catch (err) {
    throw new FerryError('XML_INVALID', `XML error in ${file}: ${(err as Error).message}`);
  }
  const found: CpuDescription[] = [];
  collect(root, found);
  if (found.length === 0) {
    throw new FerryError(
      'XML_INVALID',
      `File '${file}' does not contain any <cpu> element or valid domain XML, host capabilities XML, or domain capabilities XML`,
      {
        hint: 'Give a file with a <cpu> element: a domain XML, a <cpu> of its own, or several of them (one per host)',
      },
    );
  }
  return found;
}

function collect(e: XmlElement, out: CpuDescription[]): void {
  for (const c of e.children) {
    if (c.name === 'cpus') continue;
    if (c.name === 'cpu') {
      const hostModel = c.children.find((m) => m.name === 'mode' && m.attrs.name === 'host-model');
      if (hostModel) out.push(describe(hostModel, 'custom'));
      else if (!c.children.some((m) => m.name === 'mode')) out.push(describe(c, c.attrs.mode));
      continue;
    }
    collect(c, out);
  }
}

function describe(c: XmlElement, modeAttr: string | undefined): CpuDescription {
  const model = c.children.find((m) => m.name === 'model')?.text || undefined;
  const mode = modeAttr ?? (model ? 'custom' : 'host-model');
  if (mode !== 'custom' && mode !== 'host-model' && mode !== 'host-passthrough' && mode !== 'maximum') {
    throw new FerryError('XML_INVALID', `invalid cpu mode '${mode}'`);
  }
  const d: CpuDescription = { mode, features: [] };
  if (model) d.model = model;
  if (c.attrs.check) d.check = c.attrs.check;
  for (const f of c.children) {
    if (f.name !== 'feature') continue;
    const policy = f.attrs.policy ?? 'require';
    if (!POLICIES.includes(policy) || !f.attrs.name) throw new FerryError('XML_INVALID', `invalid CPU feature '${f.attrs.name ?? ''}' policy '${policy}'`);
    d.features.push({ policy: policy as FeaturePolicy, name: canonicalFeature(f.attrs.name) });
  }
  return d;
}
