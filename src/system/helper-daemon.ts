import { readFileSync } from 'node:fs';

/**
 * Small facts about the helper daemons ferryd runs beside QEMU (swtpm, a
 * domain's dbus-daemon), found again through their pidfiles.
 */

/** Whether `pid` still exists (kill(pid, 0); EPERM counts as alive). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A pid from a pidfile is the daemon's only while /proc says it is still that program (pids are reused). */
export function isProgram(pid: number, comm: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
  } catch {
    return false;
  }
}

/** The last lines of a daemon's log, for an error message. */
export function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n') || 'no output';
  } catch {
    return 'no output';
  }
}
