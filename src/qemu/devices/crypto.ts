import type { DomainDefinition } from '../../vm/definition.js';
import { device, pciProps } from './device-props.js';

/** <crypto>: the backend object, then virtio-crypto-pci using it (libvirt 11: objcryptoN, cryptoN). */
export function cryptoArgs(def: DomainDefinition, q35: boolean): string[] {
  return (def.devices.cryptos ?? []).flatMap((c, i) => {
    const obj = `obj${c.alias ?? `crypto${i}`}`;
    return [
      '-object',
      [`cryptodev-backend-${c.backend}`, `id=${obj}`, c.queues === undefined ? undefined : `queues=${c.queues}`].filter(Boolean).join(','),
      ...device('virtio-crypto-pci', [`cryptodev=${obj}`, `id=${c.alias ?? `crypto${i}`}`, ...pciProps(c.address, q35)]),
    ];
  });
}
