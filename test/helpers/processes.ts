import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes whose command line contains `needle` (zombies excluded). */
export function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (!cmd.includes(needle)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X' && Number(d) !== process.pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Waits until `fn` returns true, polling; fails with `what` after the timeout. */
export async function eventually(fn: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Retries `check` until it stops throwing (a state to reach, not a time to wait); after the timeout, fails with its last error. */
export async function untilPasses<T>(what: string, check: () => Promise<T>, timeoutMs = 60_000, stepMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** SIGKILLs every live process whose command line contains `needle` (a test's own directory): what a failed test left running. */
export function killMatching(needle: string): void {
  for (const pid of pidsMatching(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * The QEMU processes that the ferryd with this state directory runs for a
 * domain: their command line names the domain's run directory (QMP socket, pidfile).
 * A TPM's swtpm names it too (its socket): only qemu-system-* processes count.
 */
export function qemuPidsOf(stateDir: string, uuid: string): number[] {
  return pidsMatching(`${stateDir}/run/${uuid}`).filter((pid) => {
    try {
      return /qemu-system-/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '');
    } catch {
      return false;
    }
  });
}
