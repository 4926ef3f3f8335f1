import { child, el, type XmlElement } from '../../shared/xml.js';
import type { DefineProblem, ElementRule } from '../schema/element-rule.js';
import type { DomainDefinition, SmartcardDefinition } from '../definition.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { nonNegativeInt } from '../xml-values.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE } from './placement.js';

/** Where the card's commands go: a SPICE client (spicevmc) or a socket. Host modes read the host's reader: refused. */
const SMARTCARD_TYPES = ['spicevmc', 'tcp', 'unix'] as const;

export const SMARTCARD_RULE: ElementRule = {
  attrs: { mode: ['passthrough'], type: SMARTCARD_TYPES },
  label: (e, i) => `<smartcard mode='${e.attrs.mode ?? '?'}'> #${i}`,
  children: {
    ...CHAR_SOURCE_CHILDREN,
    alias: ALIAS_RULE,
    address: { attrs: { type: ['ccid'], controller: true, slot: true } },
  },
};

export function parseSmartcard(e: XmlElement, index: number, taken: SmartcardDefinition[]): SmartcardDefinition {
  const label = `<smartcard> #${index}`;
  if (e.attrs.mode !== 'passthrough') throw xmlUnsupported(`smartcard mode='${e.attrs.mode ?? ''}'`, "is not supported (ferry runs mode='passthrough': the host's own reader is not used)");
  const source = parseCharSource({ ...e, attrs: { type: e.attrs.type ?? '' } }, SMARTCARD_TYPES, label);
  const a = child(e, 'address');
  const controller = a?.attrs.controller === undefined ? 0 : nonNegativeInt(a.attrs.controller, 'address');
  let slot = a?.attrs.slot === undefined ? undefined : nonNegativeInt(a.attrs.slot, 'address');
  if (slot === undefined) {
    slot = 0;
    while (taken.some((t) => t.ccidController === controller && t.ccidSlot === slot)) slot++;
  }
  if (taken.some((t) => t.ccidController === controller && t.ccidSlot === slot)) throw xmlInvalid('address', `${label}: CCID controller ${controller} slot ${slot} is already in use`);
  const alias = child(e, 'alias')?.attrs.name;
  return { mode: 'passthrough', ...source, ccidController: controller, ccidSlot: slot, ...(alias === undefined ? {} : { alias }) };
}

export function renderSmartcard(s: SmartcardDefinition, live: boolean): XmlElement {
  return el('smartcard', { mode: s.mode, type: s.type }, [
    ...renderCharSource(s, live),
    live && s.alias !== undefined ? el('alias', { name: s.alias }) : undefined,
    el('address', { type: 'ccid', controller: s.ccidController, slot: s.ccidSlot }),
  ]);
}

/** A spicevmc smartcard talks to a SPICE client: there must be SPICE graphics (QEMU: spicevmc needs -spice). */
export function smartcardProblems(def: DomainDefinition): DefineProblem[] {
  const spice = def.devices.graphics.some((g) => g.type === 'spice');
  return (def.devices.smartcards ?? []).flatMap((s, i, all) => (s.type === 'spicevmc' && !spice
    ? [{ path: `/domain/devices/smartcard${all.length > 1 ? `[${i + 1}]` : ''}/@type`, device: `<smartcard mode='passthrough'> #${i}`, message: "type 'spicevmc' talks to a SPICE client, and there is no <graphics type='spice'>; use type 'unix' or 'tcp'" }]
    : []).concat(s.ccidSlot > 0
    ? [{ path: `/domain/devices/smartcard${all.length > 1 ? `[${i + 1}]` : ''}/address/@slot`, device: `<smartcard mode='passthrough'> #${i}`, message: `slot ${s.ccidSlot}: QEMU's CCID controller (usb-ccid) holds one card, in slot 0; add a <controller type='ccid'> for another` }]
    : []));
}
