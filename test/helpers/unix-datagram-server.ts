import { unlinkSync } from 'node:fs';
import koffi from 'koffi';
import { unixAddress } from '../../src/system/systemd/unix-datagram.js';

const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

/**
 * A bound AF_UNIX datagram socket (Node has none) that collects what arrives: a stand-in for journald's
 * /run/systemd/journal/socket or systemd's $NOTIFY_SOCKET in tests. `next()` waits for the next datagram.
 */
export class UnixDatagramServer {
  private readonly fd: number;
  private readonly recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  private readonly close_: (fd: number) => number;

  constructor(readonly path: string) {
    const lib = koffi.load('libc.so.6');
    const socket = lib.func('int socket(int, int, int)') as (a: number, b: number, c: number) => number;
    const bind = lib.func('int bind(int, const uint8_t *, uint32_t)') as (fd: number, addr: Buffer, len: number) => number;
    this.recv = lib.func('intptr_t recv(int, _Out_ uint8_t *, size_t, int)') as UnixDatagramServer['recv'];
    this.close_ = lib.func('int close(int)') as (fd: number) => number;
    this.fd = socket(1, 2, 0);
    if (this.fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
    const { addr, length } = unixAddress(path);
    if (bind(this.fd, addr, length) < 0) throw new Error(`bind ${path}: errno ${koffi.errno()}`);
  }

  /** The next datagram, polled without blocking the event loop; rejects after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<Buffer> {
    const buf = Buffer.alloc(256 * 1024);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = this.recv(this.fd, buf, buf.length, MSG_DONTWAIT);
      if (n >= 0) return Buffer.from(buf.subarray(0, n));
      const errno = koffi.errno();
      if (errno !== EAGAIN) throw new Error(`recv: errno ${errno}`);
      if (Date.now() > deadline) throw new Error(`no datagram on ${this.path} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.close_(this.fd);
    if (!this.path.startsWith('@')) {
      try {
        unlinkSync(this.path);
      } catch {
        // gone
      }
    }
  }
}
