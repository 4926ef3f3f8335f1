import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * The state directory's modes, fixed at every start (older ferryds left
 * 0644 files): the directories let QEMU's user pass through to its own run
 * directory and logs (0711) but list nothing; the store and every log are
 * for root alone (0600). QEMU's serial logs belong to its user, still 0600.
 */
export function tightenStateModes(dirs: { stateDir: string; runDir: string; logDir: string; database: string }): void {
  for (const d of [dirs.stateDir, dirs.runDir, dirs.logDir]) chmodSync(d, 0o711);
  if (!existsSync(dirs.database)) closeSync(openSync(dirs.database, 'a', 0o600));
  for (const f of [dirs.database, `${dirs.database}-wal`, `${dirs.database}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
  for (const f of readdirSync(dirs.logDir)) {
    const path = join(dirs.logDir, f);
    if (statSync(path).isFile()) chmodSync(path, 0o600);
  }
}
