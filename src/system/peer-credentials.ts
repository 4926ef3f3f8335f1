import type { Socket } from 'node:net';
import koffi from 'koffi';

/** <sys/socket.h> on Linux. */
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** The process at the other end of a unix socket, as the kernel recorded it at connect(). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: Buffer) => number;

/**
 * Reads SO_PEERCRED (struct ucred) of unix socket connections, as libvirt's
 * virNetSocketGetUNIXIdentity does; Node has no API for it, so libc's
 * getsockopt is bound through koffi on first use.
 */
export class PeerCredentialReader {
  private getsockopt: GetSockOpt | undefined;

  /** The peer's credentials, or undefined when the socket has no descriptor (not a unix socket, already closed). */
  read(socket: Socket): PeerCredentials | undefined {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    this.getsockopt ??= koffi
      .load('libc.so.6')
      .func('getsockopt', 'int', ['int', 'int', 'int', koffi.inout(koffi.pointer('uint8_t')), koffi.inout(koffi.pointer('uint8_t'))]) as GetSockOpt;
    const ucred = Buffer.alloc(12);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(12);
    if (this.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, len) !== 0) return undefined;
    return { pid: ucred.readInt32LE(0), uid: ucred.readUInt32LE(4), gid: ucred.readUInt32LE(8) };
  }
}
