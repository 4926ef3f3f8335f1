import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';

/** fcntl commands for open-file-description locks (Linux, <fcntl.h>). */
const F_OFD_GETLK = 36;
const F_OFD_SETLK = 37;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;
const EAGAIN = 11;
const EACCES = 13;

interface Flock {
  l_type: number;
  l_whence: number;
  l_start: number;
  l_len: number;
  l_pid: number;
}

/** libc's fcntl with a struct flock, bound through koffi. */
export class OfdLocker {
  private readonly fcntl: (fd: number, cmd: number, lk: Flock) => number;

  constructor() {
    const libc = koffi.load('libc.so.6');
    // An anonymous struct type: koffi refuses a named type declared twice, and one process may hold several lockers.
    const flock = koffi.struct({ l_type: 'short', l_whence: 'short', l_start: 'int64', l_len: 'int64', l_pid: 'int32' });
    this.fcntl = libc.func('fcntl', 'int', ['int', 'int', koffi.inout(koffi.pointer(flock))]) as (fd: number, cmd: number, lk: Flock) => number;
  }

  /**
   * Locks byte 0 of `path` (as virtlockd does: QEMU's own image locks use
   * bytes 100 and up, so they do not collide). Returns the open fd holding
   * the lock, or undefined when another open file description holds a
   * conflicting lock. The lock lives as long as the fd stays open, in
   * whatever process holds it, and dies with that process.
   */
  tryLock(path: string, mode: 'exclusive' | 'shared', options: { create: boolean }): number | undefined {
    const flags = (mode === 'exclusive' ? constants.O_RDWR : constants.O_RDONLY) | (options.create ? constants.O_CREAT : 0);
    const fd = openSync(path, flags, 0o600);
    const lk: Flock = { l_type: mode === 'exclusive' ? F_WRLCK : F_RDLCK, l_whence: 0, l_start: 0, l_len: 1, l_pid: 0 };
    if (this.fcntl(fd, F_OFD_SETLK, lk) === 0) return fd;
    const errno = koffi.errno();
    closeSync(fd);
    if (errno === EAGAIN || errno === EACCES) return undefined;
    throw new Error(`fcntl(F_OFD_SETLK) on ${path} failed: errno ${errno}`);
  }

  /** True when some open file description holds a lock that would conflict with an exclusive one. */
  isLocked(path: string): boolean {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY);
    } catch {
      return false;
    }
    try {
      const lk: Flock = { l_type: F_WRLCK, l_whence: 0, l_start: 0, l_len: 1, l_pid: 0 };
      if (this.fcntl(fd, F_OFD_GETLK, lk) !== 0) return false;
      return lk.l_type !== F_UNLCK;
    } finally {
      closeSync(fd);
    }
  }

  unlock(fd: number): void {
    closeSync(fd);
  }
}
