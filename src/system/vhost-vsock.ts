import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import { type Ioctl, loadIoctl } from './libc-ioctl.js';
import { FerryError } from '../errors/ferry-error.js';
import { FIRST_GUEST_CID, LAST_GUEST_CID } from '../vm/devices/vsock.js';

/** <linux/vhost.h>: _IOW(VHOST_VIRTIO 0xAF, 0x60, __u64) */
const VHOST_VSOCK_SET_GUEST_CID = 0x4008af60;
const EADDRINUSE = 98;
/** How many CIDs an auto='yes' vsock tries before giving up (libvirt walks the whole range; a host runs far fewer VMs). */
const AUTO_TRIES = 65_536;

/**
 * The kernel's vhost-vsock for a <vsock>, as libvirt's virVsockAcquireGuestCid:
 * ferryd opens /dev/vhost-vsock and claims the guest's CID on it (the kernel
 * refuses a CID another guest of this host holds), then hands the descriptor
 * to QEMU, which keeps the claim for as long as it runs.
 */
export class VhostVsock {
  private readonly ioctl: Ioctl;

  constructor(private readonly device = '/dev/vhost-vsock') {
    this.ioctl = loadIoctl();
  }

  /**
   * A descriptor holding guest CID `cid` (fixed), or with `auto` the first
   * free one from `cid` (or 3) on. The caller closes it.
   */
  acquire(cid: number | undefined, auto: boolean): { fd: number; cid: number } {
    let fd: number;
    try {
      fd = openSync(this.device, 'r+');
    } catch (err) {
      throw new FerryError(
        'VSOCK_UNAVAILABLE',
        `Unable to open ${this.device} for the domain's <vsock>: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err, details: { path: this.device } },
      );
    }
    const first = cid ?? FIRST_GUEST_CID;
    const last = auto ? Math.min(LAST_GUEST_CID, first + AUTO_TRIES - 1) : first;
    for (let candidate = first; candidate <= last; candidate++) {
      const errno = this.setGuestCid(fd, candidate);
      if (errno === 0) return { fd, cid: candidate };
      if (errno !== EADDRINUSE) {
        closeSync(fd);
        throw new FerryError('VSOCK_UNAVAILABLE', `${this.device} refused guest CID ${candidate}: errno ${errno}`, { details: { path: this.device } });
      }
    }
    closeSync(fd);
    throw auto
      ? new FerryError('VSOCK_CID_IN_USE', `No free guest CID in ${first}..${last} for the domain's <vsock>`, { details: { first, last } })
      : new FerryError('VSOCK_CID_IN_USE', `Guest CID ${first} of the domain's <vsock> is held by another guest on this host`, { details: { cid: first } });
  }

  private setGuestCid(fd: number, cid: number): number {
    const arg = Buffer.alloc(8);
    arg.writeBigUInt64LE(BigInt(cid));
    return this.ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, arg) === 0 ? 0 : koffi.errno();
  }
}
