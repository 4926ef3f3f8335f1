import { mkdirSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';

/**
 * Creates one of ferryd's directories, or says which one could not be made
 * and why (a file in the way, no permission) instead of failing as a bug.
 */
export function ensureDirectory(path: string, purpose: string, mode?: number): void {
  try {
    mkdirSync(path, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'a file that is not a directory is in the way' : (err as Error).message;
    throw new FerryError('CONFIG_INVALID', `cannot create the ${purpose} '${path}': ${reason}`, {
      hint: 'Choose another --state-dir / --socket, or remove what is in the way',
      cause: err,
    });
  }
}
