import { el, type XmlElement } from '../shared/xml.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid } from './xml-errors.js';

/**
 * <seclabel>: what ferry honours of libvirt's security labels. ferry confines
 * QEMU only by Unix ownership (libvirt's DAC driver: QEMU runs as ferryd.conf's
 * user, and the files it opens are chowned to it); there is no SELinux or
 * AppArmor driver, so those models are refused.
 *
 * - model='dac' type='dynamic' (relabel='yes'): that, ferry's default.
 * - model='dac' type='none': QEMU still runs as its user, but ferry changes the
 *   owner of none of its files (they must already be open to it).
 * - model='none' type='none': no mandatory access control, which is what ferry has.
 */
export interface SeclabelDefinition {
  model: 'dac' | 'none';
  type: 'dynamic' | 'none';
}

export const SECLABEL_RULE: ElementRule = {
  attrs: { type: ['dynamic', 'none'], model: ['dac', 'none'], relabel: ['yes', 'no'] },
  // A running domain's dumpxml shows the labels libvirt gave it; define ignores them for type='dynamic', as libvirt does.
  children: { label: {}, imagelabel: {} },
};

export function parseSeclabels(root: XmlElement): SeclabelDefinition[] | undefined {
  const els = root.children.filter((c) => c.name === 'seclabel');
  if (els.length === 0) return undefined;
  const result: SeclabelDefinition[] = [];
  for (const s of els) {
    const type = s.attrs.type ?? 'dynamic';
    const model = s.attrs.model ?? 'dac';
    if (type !== 'dynamic' && type !== 'none') return undefined; // the rule walk names it
    if (model !== 'dac' && model !== 'none') return undefined;
    if (model === 'none' && type !== 'none') throw xmlInvalid('seclabel', "model='none' goes with type='none'");
    if (type === 'none' && s.attrs.relabel === 'yes') throw xmlInvalid('seclabel', "type='none' cannot be relabel='yes'");
    if (type === 'dynamic' && s.attrs.relabel === 'no') throw xmlInvalid('seclabel', "type='dynamic' needs relabel='yes'");
    if (type === 'none' && s.children.length > 0) throw xmlInvalid('seclabel', "type='none' takes no <label> or <imagelabel>");
    if (result.some((r) => r.model === model)) throw xmlInvalid('seclabel', `more than one <seclabel model='${model}'>`);
    result.push({ model, type });
  }
  return result;
}

export function renderSeclabel(s: SeclabelDefinition): XmlElement {
  return el('seclabel', { type: s.type, model: s.model, relabel: s.type === 'dynamic' ? 'yes' : undefined });
}

/** Whether ferry may change the owner of the domain's files for QEMU (not with <seclabel type='none' model='dac'>). */
export function relabels(seclabels: readonly SeclabelDefinition[] | undefined): boolean {
  return !(seclabels ?? []).some((s) => s.model === 'dac' && s.type === 'none');
}
