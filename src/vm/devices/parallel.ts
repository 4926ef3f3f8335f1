import { child, el, type XmlElement } from '../../shared/xml.js';
import type { ParallelDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { nonNegativeInt } from '../xml-values.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

/** Host sides a parallel port may have: never a host device (type='dev', /dev/parport0). */
const PARALLEL_TYPES = ['pty', 'file', 'unix', 'tcp', 'udp', 'null', 'vc', 'pipe'] as const;

export const PARALLEL_RULE: ElementRule = {
  attrs: { type: PARALLEL_TYPES },
  label: (e, i) => `<parallel> ${e.attrs.type ?? 'pty'} #${i}`,
  children: { ...CHAR_SOURCE_CHILDREN, target: { attrs: { port: true } }, alias: ALIAS_RULE },
};

export function parseParallel(p: XmlElement, index: number): ParallelDefinition {
  const label = `<parallel> #${index}`;
  const target = child(p, 'target');
  const port = target?.attrs.port === undefined ? index : nonNegativeInt(target.attrs.port, 'target');
  return { ...parseCharSource(p, PARALLEL_TYPES, label), ...parsePlacement(p, label), targetPort: port };
}

export function renderParallel(p: ParallelDefinition, live: boolean): XmlElement {
  return el('parallel', { type: p.type }, [...renderCharSource(p, live), el('target', { port: p.targetPort }), ...renderPlacement(p, live)]);
}
