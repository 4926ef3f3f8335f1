import { readdirSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { processCommandLine } from '../system/process-liveness.js';

/**
 * What a killed ferryd may have left in its state directory (this ferryd holds
 * the directory's lock, so nothing else uses it): processes it ran that should
 * have died with it, such as the KVM probe's QEMU, and their work directories.
 * Domains' QEMUs are not touched: they are meant to outlive ferryd.
 */
export function removeStartupLeftovers(o: { dir: string; log: Logger }): void {
  const marker = `${o.dir}/`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const argv = processCommandLine(Number(entry));
    if (!Array.isArray(argv) || !argv.some((a) => a.includes(marker))) continue;
    o.log.warn({ pid: Number(entry), argv: argv.join(' ').slice(0, 200) }, 'killing a process a previous ferryd left behind');
    try {
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(o.dir, { recursive: true, force: true });
}
