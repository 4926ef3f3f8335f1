import type { XmlElement } from '../../shared/xml.js';

/** What ferry applies of one element: its attributes, their values, its children. */
export interface ElementRule {
  /** Attributes ferry applies: `true` for any value, a list for the values it knows. */
  attrs?: Readonly<Record<string, true | readonly string[]>>;
  /** Child elements ferry applies, by name. */
  children?: Readonly<Record<string, ElementRule>>;
  /** Kept as written and never looked into (metadata, description). */
  opaque?: true;
  /** Why a value ferry knows of is refused, by `attr=value`, added to the problem's message (a hint: what to do instead). */
  refusedValues?: Readonly<Record<string, string>>;
  /** Names a device in messages: "<disk> 'vda'". Set on the elements under <devices>. */
  label?: (el: XmlElement, index: number) => string;
}

/** One thing of a definition ferry would not apply: where it is and what it is. */
export interface DefineProblem {
  /** XPath-like location: /domain/devices/disk[2]/driver/@iothread */
  path: string;
  /** The device it belongs to, when under <devices>: "<disk> 'vda'". */
  device?: string;
  message: string;
}

/**
 * Walks an element against its rule and lists every element, attribute and
 * value the rule does not name, all at once, so a user fixes a definition in
 * one pass instead of one error at a time.
 */
export function unsupportedParts(root: XmlElement, rule: ElementRule): DefineProblem[] {
  const problems: DefineProblem[] = [];
  walk(root, rule, `/${root.name}`, undefined, problems);
  return problems;
}

function walk(el: XmlElement, rule: ElementRule, path: string, device: string | undefined, out: DefineProblem[]): void {
  if (rule.opaque) return;
  const here = (p: Omit<DefineProblem, 'device'>): void => void out.push(device === undefined ? p : { ...p, device });
  for (const [name, value] of Object.entries(el.attrs)) {
    if (name.startsWith('xmlns')) continue;
    const allowed = rule.attrs?.[name];
    if (allowed === undefined) here({ path: `${path}/@${name}`, message: `<${el.name}> attribute '${name}' is not supported` });
    else if (allowed !== true && !allowed.includes(value)) {
      const why = rule.refusedValues?.[`${name}=${value}`];
      here({
        path: `${path}/@${name}`,
        message: `<${el.name} ${name}='${value}'> is not supported (ferry supports ${allowed.map((v) => `'${v}'`).join(', ')})${why ? `: ${why}` : ''}`,
      });
    }
  }
  const seen = new Map<string, number>();
  const total = new Map<string, number>();
  for (const c of el.children) total.set(c.name, (total.get(c.name) ?? 0) + 1);
  el.children.forEach((c) => {
    const n = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, n);
    const childPath = `${path}/${childStep(c.name, n - 1, total.get(c.name) ?? 1)}`;
    const childRule = rule.children?.[c.name];
    if (childRule === undefined) {
      here({ path: childPath, message: `<${c.name}> in <${el.name}> is not supported` });
      return;
    }
    const childDevice = childRule.label ? childRule.label(c, n - 1) : device;
    walk(c, childRule, childPath, childDevice, out);
  });
}

/** The one-line form of a problem, as define reports it: "<disk> 'hda': bus 'ide' ...". */
export function describeProblem(p: DefineProblem): string {
  return p.device === undefined ? p.message : `${p.device}: ${p.message}`;
}

/** One step of a problem's path: `disk[2]` when there are several disks (1-based, as XPath), `driver` when one. */
export function childStep(name: string, index: number, count: number): string {
  return count > 1 ? `${name}[${index + 1}]` : name;
}
