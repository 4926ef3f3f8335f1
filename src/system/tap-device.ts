import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import { type Ioctl, loadIoctl } from './libc-ioctl.js';

/** <linux/if_tun.h> */
const TUNSETIFF = 0x400454ca;
const TUNGETIFF = 0x800454d2;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFF_MULTI_QUEUE = 0x0100;
/** struct ifreq: IFNAMSIZ (16) bytes of name, then a 24-byte union whose first member here is ifr_flags. */
const IFREQ_SIZE = 40;

/**
 * Opens tap devices for QEMU, as libvirt does: ferryd (root) attaches to the
 * tap through /dev/net/tun (or opens a macvtap's /dev/tapN) and hands the
 * descriptor to QEMU (`-netdev tap,fd=N`), so an unprivileged QEMU never opens
 * /dev/net/tun itself.
 */
export class TapOpener {
  private readonly ioctl: Ioctl;

  constructor() {
    this.ioctl = loadIoctl();
  }

  /**
   * A descriptor attached to the (existing, persistent) tap `name`; `vnetHdr`
   * for virtio NICs; `multiQueue` for one queue of a multiqueue tap (open it
   * once per queue). The caller closes it.
   */
  open(name: string, options: { vnetHdr: boolean; multiQueue?: boolean; cloneDevice?: string }): number {
    if (Buffer.byteLength(name) > 15) throw new RangeError(`tap name '${name}' is longer than 15 bytes`);
    const fd = openSync(options.cloneDevice ?? '/dev/net/tun', 'r+');
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(name, 0, 'utf8');
    ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | (options.vnetHdr ? IFF_VNET_HDR : 0) | (options.multiQueue ? IFF_MULTI_QUEUE : 0), 16);
    this.call(fd, TUNSETIFF, ifr, `TUNSETIFF ${name}`);
    return fd;
  }

  /**
   * A descriptor of a macvtap (its character device /dev/tap<ifindex>), with
   * the virtio-net header on or off as the NIC needs (libvirt's
   * virNetDevMacVLanTapSetup). Each open is one more queue.
   */
  openMacvtap(ifindex: number, options: { vnetHdr: boolean }): number {
    const fd = openSync(`/dev/tap${ifindex}`, 'r+');
    const ifr = Buffer.alloc(IFREQ_SIZE);
    this.call(fd, TUNGETIFF, ifr, `TUNGETIFF /dev/tap${ifindex}`);
    const flags = ifr.readUInt16LE(16);
    const wanted = options.vnetHdr ? flags | IFF_VNET_HDR : flags & ~IFF_VNET_HDR;
    if (wanted !== flags) {
      ifr.writeUInt16LE(wanted, 16);
      this.call(fd, TUNSETIFF, ifr, `TUNSETIFF /dev/tap${ifindex}`);
    }
    return fd;
  }

  /**
   * A descriptor of the kernel's vhost-net (one per queue), which QEMU takes
   * as vhostfd=: QEMU itself then asks it to serve the tap's queue.
   */
  openVhost(path: string): number {
    return openSync(path, 'r+');
  }

  private call(fd: number, request: number, ifr: Buffer, what: string): void {
    if (this.ioctl(fd, request, ifr) !== 0) {
      const errno = koffi.errno();
      closeSync(fd);
      throw new Error(`${what}: errno ${errno}`);
    }
  }
}
