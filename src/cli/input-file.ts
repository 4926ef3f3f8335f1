import { closeSync, openSync, readSync } from 'node:fs';
import { CliFailure } from './context.js';

/** The most a command reads from a file: as virsh (VSH_MAX_XML_FILE), 10 MiB; a definition that large is refused by ferryd anyway. */
export const MAX_INPUT_FILE_BYTES = 10 * 1024 * 1024;

/**
 * A file a command reads ('-' is standard input), or virsh's "Failed to open file" when it cannot be read.
 * Reading stops past MAX_INPUT_FILE_BYTES: a device that never ends (/dev/zero) is refused, not read into memory until it runs out.
 */
export function readInputFile(file: string, limit = MAX_INPUT_FILE_BYTES): Buffer {
  const failure = (reason: string): CliFailure => new CliFailure([`Failed to open file '${file}': ${reason}`], undefined, 'INVALID_ARGUMENT');
  let fd: number;
  try {
    fd = file === '-' ? 0 : openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw failure(code === 'ENOENT' ? 'No such file or directory' : (err as Error).message);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) throw failure(`File too large (more than ${limit / 1024 / 1024} MiB)`);
      chunks.push(chunk.subarray(0, n));
    }
  } catch (err) {
    if (err instanceof CliFailure) throw err;
    throw failure((err as Error).message);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}

/** The XML of a definition file ('-': standard input). */
export function readXmlFile(file: string): string {
  return readInputFile(file).toString('utf8');
}
