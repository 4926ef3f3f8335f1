import { DOMAIN_RULE } from './domain-schema.js';
import type { ElementRule } from './element-rule.js';

/**
 * docs/domain-elements.md, generated from the rule tree ferry checks every
 * definition against (scripts/gen-domain-elements-doc.sh writes it; a test
 * compares), so the list of what ferry applies is the code's own.
 */
export function renderDomainElementsDoc(): string {
  const rows: string[] = [];
  walk('domain', DOMAIN_RULE, rows);
  return [
    '# Domain XML: every element and attribute ferry applies',
    '',
    'ferry checks each definition against this list at define. Anything not in it is refused, every',
    'part at once, each with its path and the device it belongs to (`XML_UNSUPPORTED`); values in',
    'brackets are the only ones accepted. `<metadata>` and `<description>` are kept as written and',
    'never looked into. What each element does is in [domain-xml.md](domain-xml.md).',
    '',
    '<!-- generated from src/vm/schema/domain-schema.ts by scripts/gen-domain-elements-doc.sh; do not edit by hand -->',
    '',
    '| Element | Attributes |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** A rule that contains itself (<backingStore> in <backingStore>) is listed once, its nesting noted. */
function walk(path: string, rule: ElementRule, rows: string[], ancestors: readonly ElementRule[] = []): void {
  if (ancestors.includes(rule)) {
    rows.push(`| \`${path}\` | (nests: as its parent) |`);
    return;
  }
  const attrs = Object.entries(rule.attrs ?? {})
    .map(([name, values]) => (values === true ? `\`${name}\`` : `\`${name}\` [${values.map((v) => `\`${v}\``).join(', ')}]`))
    .join(', ');
  rows.push(`| \`${path}\` | ${rule.opaque ? '(kept as written)' : attrs.replace(/\|/g, '\\|')} |`);
  if (rule.opaque) return;
  for (const [name, child] of Object.entries(rule.children ?? {})) walk(`${path}/${name}`, child, rows, [...ancestors, rule]);
}
