import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(struct sockaddr_un): a 2-byte family and 108 bytes of path. */
const SUN_PATH_MAX = 108;

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;
  close: (fd: number) => number;
}

/** A send that failed: the errno koffi read, and its symbolic name when known (EMSGSIZE, ENOENT, ...). */
export class DatagramError extends Error {
  constructor(
    readonly errno: number,
    readonly what: string,
  ) {
    super(`${what}: errno ${errno}${errnoName(errno) ? ` (${errnoName(errno)})` : ''}`);
  }

  get code(): string | undefined {
    return errnoName(this.errno);
  }
}

function errnoName(errno: number): string | undefined {
  return ({ 2: 'ENOENT', 11: 'EAGAIN', 13: 'EACCES', 90: 'EMSGSIZE', 105: 'ENOBUFS', 111: 'ECONNREFUSED' } as Record<number, string>)[errno];
}

/**
 * struct sockaddr_un for `path`; a leading '@' names the abstract namespace (the '@' becomes a NUL,
 * and the length covers exactly the name, as sd_notify(3) does). Returns the bytes and their length.
 */
export function unixAddress(path: string): { addr: Buffer; length: number } {
  const abstract = path.startsWith('@');
  const name = Buffer.from(abstract ? `\0${path.slice(1)}` : path, 'utf8');
  if (name.length >= SUN_PATH_MAX + (abstract ? 1 : 0)) throw new Error(`unix socket address too long (${name.length} bytes): ${path}`);
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  // A path name counts its terminating NUL; an abstract one counts only its bytes.
  return { addr, length: 2 + name.length + (abstract ? 0 : 1) };
}

/**
 * An unbound AF_UNIX datagram socket (Node has none) through libc, bound with koffi as src/system/libc-ioctl.ts
 * binds ioctl: the transport of sd_notify and of journald's native protocol. One descriptor per instance;
 * close() ends it.
 */
export class UnixDatagramSocket {
  private fd: number;

  private constructor(private readonly libc: Libc) {
    const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new DatagramError(koffi.errno(), 'socket(AF_UNIX, SOCK_DGRAM)');
    this.fd = fd;
  }

  static open(): UnixDatagramSocket {
    const lib = koffi.load('libc.so.6');
    return new UnixDatagramSocket({
      socket: lib.func('int socket(int, int, int)') as Libc['socket'],
      sendto: lib.func('intptr_t sendto(int, const uint8_t *, size_t, int, const uint8_t *, uint32_t)') as Libc['sendto'],
      close: lib.func('int close(int)') as Libc['close'],
    });
  }

  /** Sends one datagram to `path` (abstract when it starts with '@'); throws DatagramError with the errno. */
  send(path: string, data: Buffer): void {
    if (this.fd < 0) throw new Error('datagram socket is closed');
    const { addr, length } = unixAddress(path);
    const n = this.libc.sendto(this.fd, data, data.length, 0, addr, length);
    if (n < 0) throw new DatagramError(koffi.errno(), `sendto(${path})`);
  }

  close(): void {
    if (this.fd >= 0) this.libc.close(this.fd);
    this.fd = -1;
  }
}
