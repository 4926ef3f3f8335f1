import { FerryError } from '../errors/ferry-error.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import type { DomainDefinition, InterfaceDefinition } from '../vm/definition.js';

/** Sets a NIC's link up or down in QEMU (QMP set_link on its device id: the guest sees carrier change). */
export async function setLink(monitor: QemuMonitor, iface: InterfaceDefinition, up: boolean): Promise<void> {
  if (!iface.alias) throw new TypeError('setLink() needs a live interface (with its QEMU id)');
  await monitor.call('set_link', { name: iface.alias, up });
}

/**
 * <link state='down'> at start (libvirt's qemuProcessSetLinkStates): QEMU
 * starts every NIC with its link up, so the down ones are set before the
 * vCPUs run. On a migration's destination too, before the device state arrives.
 */
export async function applyLinkStates(monitor: QemuMonitor, live: DomainDefinition): Promise<void> {
  for (const iface of live.devices.interfaces) {
    if (iface.linkState === 'down') await setLink(monitor, iface, false);
  }
}

/**
 * The interface virsh's domif-* commands name: its device (tap) name or its MAC
 * address, as libvirt's virDomainNetFind.
 */
export function findInterface(def: DomainDefinition, ref: string): { iface: InterfaceDefinition; index: number } {
  const wanted = ref.toLowerCase();
  const index = def.devices.interfaces.findIndex((i) => i.targetDev === ref || i.mac.toLowerCase() === wanted);
  const iface = def.devices.interfaces[index];
  if (!iface) {
    throw new FerryError('NET_IFACE_NOT_FOUND', `Interface (dev: ${ref}) not found`, { details: { interface: ref } });
  }
  return { iface, index };
}
