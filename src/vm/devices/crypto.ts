import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { Placed } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf, optionalInt, positiveInt } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

/**
 * <crypto model='virtio' type='qemu'><backend model='builtin' queues=N/>: a virtio crypto device
 * (virtio-crypto-pci) whose work QEMU does itself (cryptodev-backend-builtin). The 'lkcf' backend
 * (the host kernel's crypto) is refused: this QEMU is built without it.
 */
export interface CryptoDefinition extends Placed {
  model: 'virtio';
  type: 'qemu';
  backend: 'builtin';
  queues?: number;
}

export const CRYPTO_RULE: ElementRule = {
  attrs: { model: ['virtio'], type: ['qemu'] },
  label: (_e, i) => `<crypto> #${i}`,
  children: {
    backend: {
      attrs: { model: ['builtin'], queues: true },
      refusedValues: { 'model=lkcf': "Debian's QEMU is built without the host kernel's crypto backend (cryptodev-backend-lkcf); use model='builtin'" },
    },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseCrypto(c: XmlElement, index: number): CryptoDefinition {
  const label = `<crypto> #${index}`;
  const model = oneOf(c.attrs.model ?? '', ['virtio'] as const, 'crypto', 'model');
  const type = oneOf(c.attrs.type ?? '', ['qemu'] as const, 'crypto', 'type');
  const b = child(c, 'backend');
  if (!b) throw xmlInvalid('crypto', `${label}: missing <backend>`);
  const backend = oneOf(b.attrs.model ?? '', ['builtin'] as const, 'backend', 'model');
  const result: CryptoDefinition = { model, type, backend, ...parsePlacement(c, label) };
  const queues = optionalInt(b, 'queues', positiveInt);
  if (queues !== undefined) result.queues = queues;
  return result;
}

export function renderCrypto(c: CryptoDefinition, live: boolean): XmlElement {
  return el('crypto', { model: c.model, type: c.type }, [el('backend', { model: c.backend, queues: c.queues }), ...renderPlacement(c, live)]);
}
