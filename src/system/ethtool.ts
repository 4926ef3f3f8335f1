import koffi from 'koffi';
import { type Ioctl, loadIoctl } from './libc-ioctl.js';

/** <linux/sockios.h>, <linux/ethtool.h> */
const SIOCETHTOOL = 0x8946;
const ETHTOOL_GCOALESCE = 0x0e;
const ETHTOOL_SCOALESCE = 0x0f;
/** struct ethtool_coalesce: cmd and 22 more __u32; rx_max_coalesced_frames is the third. */
const COALESCE_SIZE = 23 * 4;
const RX_MAX_FRAMES_OFFSET = 8;
/** struct ifreq: IFNAMSIZ (16) bytes of name, then a 24-byte union whose member here is ifr_data (a pointer). */
const IFREQ_SIZE = 40;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;

/**
 * A network device's interrupt coalescing through the ethtool ioctl
 * (SIOCETHTOOL on any socket), as libvirt's virNetDevSetCoalesce: the
 * settings are read first so that only rx frames change (a driver refuses a
 * request that touches a field it does not support).
 */
export class Ethtool {
  private readonly ioctl: Ioctl;
  private readonly socket: (domain: number, type: number, protocol: number) => number;
  private readonly close: (fd: number) => number;

  constructor() {
    const libc = koffi.load('libc.so.6');
    this.ioctl = loadIoctl();
    this.socket = libc.func('socket', 'int', ['int', 'int', 'int']) as (domain: number, type: number, protocol: number) => number;
    this.close = libc.func('close', 'int', ['int']) as (fd: number) => number;
  }

  /** Sets `dev`'s rx-frames (ethtool -C DEV rx-frames N) and returns what the device reads back (a driver may clamp it). */
  setRxFrames(dev: string, frames: number): number {
    return this.withSocket(dev, (call) => {
      const coalesce = call(ETHTOOL_GCOALESCE, undefined);
      coalesce.writeUInt32LE(frames, RX_MAX_FRAMES_OFFSET);
      call(ETHTOOL_SCOALESCE, coalesce);
      return call(ETHTOOL_GCOALESCE, undefined).readUInt32LE(RX_MAX_FRAMES_OFFSET);
    });
  }

  /** `dev`'s rx-frames (ethtool -c DEV). */
  rxFrames(dev: string): number {
    return this.withSocket(dev, (call) => call(ETHTOOL_GCOALESCE, undefined).readUInt32LE(RX_MAX_FRAMES_OFFSET));
  }

  private withSocket<T>(dev: string, use: (call: (cmd: number, from: Buffer | undefined) => Buffer) => T): T {
    if (Buffer.byteLength(dev) > 15) throw new RangeError(`device name '${dev}' is longer than 15 bytes`);
    const fd = this.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
    try {
      return use((cmd, from) => {
        const coalesce = Buffer.alloc(COALESCE_SIZE);
        from?.copy(coalesce);
        coalesce.writeUInt32LE(cmd, 0);
        const ifr = Buffer.alloc(IFREQ_SIZE);
        ifr.write(dev, 0, 'utf8');
        ifr.writeBigUInt64LE(BigInt(koffi.address(coalesce)), 16);
        if (this.ioctl(fd, SIOCETHTOOL, ifr) !== 0) {
          const errno = koffi.errno();
          throw new Error(`${cmd === ETHTOOL_SCOALESCE ? 'ETHTOOL_SCOALESCE' : 'ETHTOOL_GCOALESCE'} ${dev}: ${errnoName(errno)}`);
        }
        return coalesce;
      });
    } finally {
      this.close(fd);
    }
  }
}

function errnoName(errno: number): string {
  const names: Record<number, string> = { 1: 'Operation not permitted', 19: 'No such device', 22: 'Invalid argument', 95: 'Operation not supported' };
  return `${names[errno] ?? 'errno'} (${errno})`;
}
