import { readFileSync } from 'node:fs';

/**
 * What the kernel says about a process. `dead` only when the kernel says so:
 * the pid is gone (ESRCH), the process is a zombie, or the pid now belongs to
 * a process started at another time. Any other failure to look (EMFILE when
 * ferryd is out of descriptors, EACCES, ...) is `unknown`, and `unknown` must
 * never be taken for dead: nothing may be released on it.
 */
export type Liveness =
  { state: 'alive'; startTime: string } | { state: 'dead'; why: 'no such process' | 'zombie' | 'pid reused' } | { state: 'unknown'; error: string };

/** Reads a process's state; `startTime` (from an earlier `alive`) detects a reused pid. */
export function processLiveness(pid: number, startTime?: string): Liveness {
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'dead', why: 'no such process' };
  try {
    // kill(pid, 0) needs no descriptor: it answers even when ferryd has none left.
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { state: 'dead', why: 'no such process' };
    if (code !== 'EPERM') return { state: 'unknown', error: `kill(${pid}, 0): ${code ?? (err as Error).message}` };
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return { state: 'dead', why: 'no such process' };
    return { state: 'unknown', error: `/proc/${pid}/stat: ${code ?? (err as Error).message}` };
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return { state: 'dead', why: 'zombie' };
  const now = fields[19] ?? '';
  if (startTime !== undefined && now !== startTime) return { state: 'dead', why: 'pid reused' };
  return { state: 'alive', startTime: now };
}

/**
 * A process's command line: its arguments, `gone` when the kernel has no such
 * process, or `unknown` when it could not be read for another reason.
 */
export function processCommandLine(pid: number): string[] | 'gone' | 'unknown' {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? 'gone' : 'unknown';
  }
}
