import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';

/** <linux/if_tun.h> */
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** struct ifreq: IFNAMSIZ (16) bytes of name, then a 24-byte union whose first member here is ifr_flags. */
const IFREQ_SIZE = 40;

/**
 * Opens a tap device for QEMU, as libvirt does: ferryd (root) attaches to the
 * tap through /dev/net/tun and hands the descriptor to QEMU (`-netdev
 * tap,fd=N`), so an unprivileged QEMU never opens /dev/net/tun itself.
 */
export class TapOpener {
  private readonly ioctl: (fd: number, request: number, arg: Buffer) => number;

  constructor() {
    const libc = koffi.load('libc.so.6');
    this.ioctl = libc.func('ioctl', 'int', ['int', 'unsigned long', koffi.inout(koffi.pointer('uint8_t'))]) as (fd: number, request: number, arg: Buffer) => number;
  }

  /** A descriptor attached to the (existing, persistent) tap `name`; `vnetHdr` for virtio NICs. The caller closes it. */
  open(name: string, options: { vnetHdr: boolean }): number {
    if (Buffer.byteLength(name) > 15) throw new RangeError(`tap name '${name}' is longer than 15 bytes`);
    const fd = openSync('/dev/net/tun', 'r+');
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(name, 0, 'utf8');
    ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | (options.vnetHdr ? IFF_VNET_HDR : 0), 16);
    if (this.ioctl(fd, TUNSETIFF, ifr) !== 0) {
      const errno = koffi.errno();
      closeSync(fd);
      throw new Error(`TUNSETIFF ${name}: errno ${errno}`);
    }
    return fd;
  }
}
