import { el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import { type InterfaceDefinition, NIC_MODELS } from '../definition.js';
import { normalizeMac } from '../identifiers.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { oneOf, positiveInt } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

export const INTERFACE_RULE: ElementRule = {
  attrs: { type: ['bridge', 'network', 'user'] },
  label: (e, i) => `<interface type='${e.attrs.type ?? '?'}'> #${i}`,
  children: {
    mac: { attrs: { address: true } },
    source: { attrs: { bridge: true, network: true } },
    model: { attrs: { type: NIC_MODELS } },
    target: { attrs: { dev: true } },
    boot: { attrs: { order: true } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseInterface(iface: XmlElement): InterfaceDefinition {
  const type = iface.attrs.type;
  if (type !== 'bridge' && type !== 'network' && type !== 'user') {
    throw type === undefined ? xmlInvalid('interface', 'missing type attribute') : xmlUnsupported(`interface type='${type}'`);
  }
  const result: InterfaceDefinition = { type, mac: '', model: 'virtio', source: {} };
  for (const c of iface.children) {
    switch (c.name) {
      case 'mac': {
        const mac = normalizeMac(c.attrs.address ?? '');
        if (!mac) throw xmlInvalid('mac', `unable to parse mac address '${c.attrs.address ?? ''}'`);
        result.mac = mac;
        break;
      }
      case 'source':
        if (type === 'bridge') {
          if (!c.attrs.bridge) throw xmlInvalid('source', "interface type='bridge' needs bridge=");
          result.source = { bridge: c.attrs.bridge };
        } else if (type === 'network') {
          if (!c.attrs.network) throw xmlInvalid('source', "interface type='network' needs network=");
          // bridge= is the live XML's record of the bridge the network gave this host (libvirt shows it too).
          result.source = { network: c.attrs.network, ...(c.attrs.bridge ? { bridge: c.attrs.bridge } : {}) };
        }
        break;
      case 'model':
        result.model = oneOf(c.attrs.type ?? '', NIC_MODELS, 'model', 'type');
        break;
      case 'target':
        if (c.attrs.dev) result.targetDev = c.attrs.dev;
        break;
      case 'boot':
        result.bootOrder = positiveInt(c.attrs.order ?? '', 'boot');
        break;
      case 'address':
        Object.assign(result, parsePlacement(iface, '<interface>'));
        break;
      case 'alias':
        break;
      default:
        break; // unsupportedParts() names it
    }
  }
  if (type === 'bridge' && !result.source.bridge) throw xmlInvalid('interface', "type='bridge' needs <source bridge=...>");
  if (type === 'network' && !result.source.network) throw xmlInvalid('interface', "type='network' needs <source network=...>");
  return result;
}


export function renderInterface(iface: InterfaceDefinition, live = false): XmlElement {
  return el('interface', { type: iface.type }, [
    el('mac', { address: iface.mac }),
    iface.type === 'user' ? undefined : el('source', iface.type === 'network' ? { network: iface.source.network, bridge: iface.source.bridge } : { bridge: iface.source.bridge }),
    iface.targetDev === undefined ? undefined : el('target', { dev: iface.targetDev }),
    el('model', { type: iface.model }),
    iface.bootOrder === undefined ? undefined : el('boot', { order: iface.bootOrder }),
    ...renderPlacement(iface, live),
  ]);
}
