import type { DomainDefinition } from '../../vm/definition.js';
import { chardevArgs } from './chardev.js';
import { device, escapeOpt, pciProps, usbProps } from './device-props.js';
import { smartcardDatabase } from '../../vm/devices/smartcard.js';

/** Serial ports, virtio consoles and virtio-serial channels: a -chardev each, and the guest's device on it. */
export function charDeviceArgs(def: DomainDefinition, q35: boolean): string[] {
  const out: string[] = [];
  const d = def.devices;
  for (const s of d.serials) {
    const id = `char${s.alias}`;
    out.push(...chardevArgs(id, s));
    if (s.targetType === 'isa-serial') out.push(...device('isa-serial', [`chardev=${id}`, `id=${s.alias}`, `index=${s.port}`]));
    else if (s.targetType === 'pci-serial') out.push(...device('pci-serial', [`chardev=${id}`, `id=${s.alias}`, ...pciProps(s.address, q35)]));
    else out.push(...device('usb-serial', [`chardev=${id}`, `id=${s.alias}`, ...usbProps(s.address)]));
  }
  for (const p of d.parallels ?? []) {
    const id = `char${p.alias}`;
    out.push(...chardevArgs(id, p), ...device('isa-parallel', [`chardev=${id}`, `id=${p.alias}`, `index=${p.targetPort}`]));
  }
  for (const s of d.smartcards ?? []) {
    const ccid = d.controllers.find((c) => c.type === 'ccid' && c.index === s.ccidController);
    const bus = `bus=${ccid?.alias ?? `ccid${s.ccidController}`}.0`;
    if (s.mode === 'host-certificates') {
      // QEMU emulates the card from three certificates of an NSS database (libcacard opens it read-only).
      const [c1, c2, c3] = s.certificates.map(escapeOpt);
      out.push(
        ...device('ccid-card-emulated', [
          'backend=certificates',
          `cert1=${c1}`,
          `cert2=${c2}`,
          `cert3=${c3}`,
          `db=${escapeOpt(smartcardDatabase(s))}`,
          `id=${s.alias}`,
          bus,
        ]),
      );
      continue;
    }
    const id = `char${s.alias}`;
    out.push(...chardevArgs(id, s, 'smartcard'), ...device('ccid-card-passthru', [`chardev=${id}`, `id=${s.alias}`, bus]));
  }
  for (const c of d.consoles) {
    if (c.targetType !== 'virtio') continue; // a serial console is its serial port
    const id = `char${c.alias}`;
    out.push(...chardevArgs(id, c));
    out.push(...device('virtconsole', [virtioSerialBus(c.address), `chardev=${id}`, `id=${c.alias}`]));
  }
  for (const ch of d.channels) {
    const id = `char${ch.alias}`;
    out.push(...chardevArgs(id, ch, 'vdagent'));
    if (ch.targetType === 'guestfwd') {
      // libvirt's layout: a user-mode network of its own, named after the channel, whose slirp forwards the guest's connections.
      out.push('-netdev', `user,guestfwd=tcp:${ch.targetAddress}:${ch.targetPort}-chardev:${id},id=${ch.alias}`);
      continue;
    }
    out.push(
      ...device('virtserialport', [
        virtioSerialBus(ch.address),
        `chardev=${id}`,
        `id=${ch.alias}`,
        ch.targetName === undefined ? undefined : `name=${ch.targetName}`,
      ]),
    );
  }
  return out;
}

function virtioSerialBus(address: DomainDefinition['devices']['channels'][number]['address']): string {
  if (address?.type !== 'virtio-serial') return 'bus=virtio-serial0.0';
  return `bus=virtio-serial${address.controller}.${address.bus},nr=${address.port}`;
}
