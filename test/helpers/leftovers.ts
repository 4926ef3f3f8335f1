import { pidsMatching } from './processes.js';

/**
 * Kills whatever still runs from a test's directory (QEMU, ferryd,
 * ferry-lockd): a test that failed half-way, with a ferryd it had stopped,
 * must not leave a QEMU behind on a shared machine. Returns how many.
 */
export function killLeftovers(dir: string): number {
  const pids = pidsMatching(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return pids.length;
}
