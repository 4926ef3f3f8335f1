import { el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { HubDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { oneOf } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

/** QEMU's usb-hub has 8 downstream ports. */
export const USB_HUB_PORTS = 8;

export const HUB_RULE: ElementRule = {
  attrs: { type: ['usb'] },
  label: (_e, i) => `<hub type='usb'> #${i}`,
  children: { alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parseHub(e: XmlElement, index: number): HubDefinition {
  const type = oneOf(e.attrs.type ?? '', ['usb'] as const, 'hub', 'type');
  return { type, ...parsePlacement(e, `<hub type='usb'> #${index}`) };
}

export function renderHub(h: HubDefinition, live: boolean): XmlElement {
  return el('hub', { type: h.type }, renderPlacement(h, live));
}
