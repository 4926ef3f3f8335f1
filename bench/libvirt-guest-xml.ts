import { guestXml, type GuestXmlOptions } from '../test/helpers/guest.js';

/**
 * The test guest (guestXml: the same kernel, initrd, command line, memory and vCPUs as ferry
 * runs it) as libvirt's QEMU driver takes it: TCG (type='qemu', as ferry's unprivileged QEMU
 * runs it here), QEMU's `max` CPU model (ferry's default without <cpu>; libvirt's is qemu64),
 * and its serial console appended to a file (`serialPath`, as seen by the libvirt host), where
 * ferry-load's heartbeats and memory checks are read. Both add a USB controller and a memory
 * balloon by default: left as they are.
 */
export function libvirtGuestXml(o: GuestXmlOptions, serialPath: string): string {
  const xml = guestXml({ ...o, type: 'qemu' });
  const serial = `<serial type='file'><source path='${serialPath}' append='on'/><target port='0'/></serial>`;
  const console = `<console type='file'><source path='${serialPath}' append='on'/><target type='serial' port='0'/></console>`;
  const out = xml
    .replace('</vcpu>', "</vcpu>\n  <cpu mode='maximum' check='none'/>")
    .replace("<serial type='pty'/>", serial)
    .replace("<console type='pty'><target type='serial' port='0'/></console>", console);
  if (!out.includes(serial) || !out.includes(console) || !out.includes("<cpu mode='maximum'")) {
    throw new Error('guestXml changed: this no longer finds its <vcpu>, serial console and console to adapt');
  }
  return out;
}
