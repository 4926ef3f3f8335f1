import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import koffi from 'koffi';

/** <linux/falloc.h>: remove a range from a file, shifting what follows down (ext4, xfs). */
const FALLOC_FL_COLLAPSE_RANGE = 0x08;

type Fallocate = (fd: number, mode: number, offset: bigint | number, len: bigint | number) => number;

/** How a rotation went: the bytes moved to NAME.1, and whether a writer could have lost any (the copy-and-truncate fallback). */
export interface RotationResult {
  movedBytes: number;
  lossless: boolean;
}

/**
 * Rotates a log that a process outside ferryd (QEMU) keeps open with
 * O_APPEND, by size and count as virtlogd does, without the writer ever
 * reopening it (docs/configuration.md#log-rotation):
 *  1. NAME.(n-1) → NAME.n ... NAME.1 → NAME.2 (the oldest dropped);
 *  2. the file's first K bytes (its size rounded down to whole filesystem
 *     blocks) are copied to NAME.1;
 *  3. those K bytes are cut from the head of the file with
 *     fallocate(FALLOC_FL_COLLAPSE_RANGE), which the kernel does under the
 *     inode lock that every write takes: what QEMU appended meanwhile stays,
 *     after the cut. NAME.1 followed by NAME is the stream, byte for byte.
 * Where the filesystem cannot collapse (tmpfs, btrfs, NFS), it copies the
 * whole file and truncates it to 0: what QEMU writes between the copy and the
 * truncation (microseconds) is lost, so `lossless` says false.
 * Only for O_APPEND writers: a writer at its own offset would write past the
 * new end and leave a hole.
 */
export class AppendLogRotator {
  private fallocate: Fallocate | undefined;

  rotate(path: string, maxBackups: number): RotationResult {
    const fd = openSync(path, constants.O_RDWR);
    try {
      const st = fstatSync(fd);
      const block = st.blksize > 0 ? st.blksize : 4096;
      const aligned = Math.floor(st.size / block) * block;
      shiftBackups(path, maxBackups);
      if (aligned > 0) {
        if (maxBackups > 0) copyHead(fd, aligned, `${path}.1`);
        this.fallocate ??= koffi.load('libc.so.6').func('fallocate', 'int', ['int', 'int', 'int64', 'int64']) as Fallocate;
        if (this.fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, aligned) === 0) return { movedBytes: aligned, lossless: true };
      }
      // The filesystem cannot collapse (or the file is smaller than a block): copy all of it, then truncate.
      const size = fstatSync(fd).size;
      if (maxBackups > 0) copyHead(fd, size, `${path}.1`);
      ftruncateSync(fd, 0);
      return { movedBytes: size, lossless: false };
    } finally {
      closeSync(fd);
    }
  }
}

/** NAME.(n-1) → NAME.n, ..., NAME.1 → NAME.2; the oldest beyond maxBackups is removed. */
function shiftBackups(path: string, maxBackups: number): void {
  if (maxBackups === 0) return;
  try {
    unlinkSync(`${path}.${maxBackups}`);
  } catch {
    // fewer backups than the most kept
  }
  for (let i = maxBackups - 1; i >= 1; i--) {
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  }
}

/** Copies the first `length` bytes of fd into `target` (written beside it, then renamed into place). */
function copyHead(fd: number, length: number, target: string): void {
  const tmp = `${target}.tmp`;
  const out = openSync(tmp, 'w', 0o600);
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let pos = 0;
    while (pos < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
      if (n <= 0) break;
      writeSync(out, buf, 0, n);
      pos += n;
    }
  } finally {
    closeSync(out);
  }
  renameSync(tmp, target);
}
