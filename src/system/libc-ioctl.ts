import koffi from 'koffi';

/** ioctl(2) with a buffer argument the kernel reads and writes back; -1 on failure (koffi.errno() says why). */
export type Ioctl = (fd: number, request: number, arg: Buffer) => number;

/** Binds libc's ioctl through koffi (the project's FFI for the ioctls Node has no API for). */
export function loadIoctl(): Ioctl {
  return koffi.load('libc.so.6').func('ioctl', 'int', ['int', 'unsigned long', koffi.inout(koffi.pointer('uint8_t'))]) as Ioctl;
}
