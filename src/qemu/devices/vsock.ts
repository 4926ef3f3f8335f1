import type { VsockDefinition } from '../../vm/devices/vsock.js';
import { device, pciProps } from './device-props.js';

/**
 * vhost-vsock-pci with the guest's CID and the /dev/vhost-vsock descriptor
 * ferryd opened (and set that CID on) for QEMU, as libvirt passes it.
 */
export function vsockArgs(v: VsockDefinition, vhostFd: number | undefined, q35: boolean): string[] {
  if (v.cid === undefined) throw new TypeError('the vsock has no guest CID yet: the launcher acquires one before QEMU starts');
  if (vhostFd === undefined) throw new TypeError('the vsock has no vhost-vsock descriptor');
  return device('vhost-vsock-pci', [`id=${v.alias ?? 'vsock0'}`, `guest-cid=${v.cid}`, `vhostfd=${vhostFd}`, ...pciProps(v.address, q35)]);
}
