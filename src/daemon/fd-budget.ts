import { readdirSync, readFileSync } from 'node:fs';

/**
 * ferryd's file descriptors: its limit (RLIMIT_NOFILE, as /proc/self/limits
 * shows it) and how many are free now. Unprivileged listeners stop taking
 * connections while fewer than their reserve are free, so a flood of clients
 * can never take the descriptors ferryd needs for QEMU's monitors, its store,
 * its logs and root's own socket.
 */
export class FdBudget {
  readonly limit: number;

  constructor(
    limitsFile = '/proc/self/limits',
    private readonly fdDir = '/proc/self/fd',
  ) {
    this.limit = readSoftLimit(limitsFile) ?? 1024;
  }

  /** Free descriptors now; 0 when they cannot even be counted (EMFILE: none left). */
  free(): number {
    try {
      return this.limit - readdirSync(this.fdDir).length;
    } catch {
      return 0;
    }
  }
}

function readSoftLimit(file: string): number | undefined {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
