import type { DomainDefinition } from '../../vm/definition.js';
import { iommuDeviceProps } from '../../vm/devices/iommu.js';
import { device, pciProps, usbProps } from './device-props.js';

/** The VM generation ID and the IOMMU: machine-wide devices libvirt puts before the controllers. */
export function platformDeviceArgs(def: DomainDefinition, q35: boolean): string[] {
  const out: string[] = [];
  const i = def.devices.iommu;
  if (i?.model === 'intel') out.push(...device('intel-iommu', iommuDeviceProps(i)));
  if (i?.model === 'virtio') out.push(...device('virtio-iommu', [`id=${i.alias ?? 'iommu0'}`, ...pciProps(i.address, q35)]));
  if (def.genid !== undefined) out.push(...device('vmgenid', [`guid=${def.genid}`, 'id=vmgenid0']));
  return out;
}

/** USB hubs (usb-hub), parents before the hubs plugged into them. */
export function hubArgs(def: DomainDefinition): string[] {
  const depth = (port: string | undefined): number => (port ?? '').split('.').length;
  const hubs = [...(def.devices.hubs ?? [])].sort(
    (a, b) => depth(a.address?.type === 'usb' ? a.address.port : '') - depth(b.address?.type === 'usb' ? b.address.port : ''),
  );
  return hubs.flatMap((h) => device('usb-hub', [`id=${h.alias}`, ...usbProps(h.address)]));
}
