import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

/** How ferry names lock files in a lockspace: a sha256, an LVM uuid or a SCSI wwid; never a dot file, never a path. */
const LOCK_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/;

/** Where a lock file ferry may remove lives, or why `resource` is not one. */
export type LockFileCheck = { ok: true; path: string } | { ok: true; path: undefined } | { ok: false; reason: string };

/**
 * Is `resource` a lock file ferry-lockd made: directly inside one of the
 * configured lockspace directories, named as ferry names them, a regular
 * empty file (never a symlink, a directory or a device) owned by this user?
 * A lock file that is already gone is fine (nothing to remove).
 */
export function checkLockFile(resource: string, lockspaces: string[], uid = process.getuid?.() ?? 0): LockFileCheck {
  if (!isAbsolute(resource) || resource.includes('\0')) return { ok: false, reason: 'it is not an absolute path' };
  const spaces = lockspaces
    .filter((d) => d !== '')
    .map(real)
    .filter((d): d is string => d !== undefined);
  if (spaces.length === 0)
    return {
      ok: false,
      reason: 'no lockspace directory is configured (file_lockspace_dir, lvm_lockspace_dir, scsi_lockspace_dir): lock-clear only removes lock files in one',
    };
  const dir = real(dirname(resource));
  if (dir === undefined || !spaces.includes(dir)) return { ok: false, reason: `it is not in a lockspace directory (${spaces.join(', ')})` };
  const name = basename(resource);
  if (!LOCK_FILE_NAME.test(name)) return { ok: false, reason: `'${name}' is not the name of a ferry lock file (a sha256, an LVM uuid or a SCSI wwid)` };
  const path = join(dir, name);
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, path: undefined };
    return { ok: false, reason: `it cannot be examined: ${(err as Error).message}` };
  }
  if (!st.isFile()) return { ok: false, reason: "it is not a regular file (ferry's lock files are; a symlink, directory or device is never removed)" };
  if (st.size !== 0) return { ok: false, reason: `it is not empty (${st.size} bytes; ferry's lock files hold no data)` };
  if (st.uid !== uid) return { ok: false, reason: `it belongs to uid ${st.uid}, not to ferry-lockd's user` };
  return { ok: true, path };
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
