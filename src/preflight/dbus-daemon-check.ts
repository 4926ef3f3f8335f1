import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type CheckResult, fail, pass } from '../shared/check-result.js';

const run = promisify(execFile);

/**
 * The destination can start the bus of the domain's D-Bus display (a
 * <graphics type='dbus'> without address or p2p): dbus-daemon runs there.
 * Not overridable: without it the destination's start fails.
 */
export async function dbusDaemonCheck(hostname: string, dbusDaemon = 'dbus-daemon'): Promise<CheckResult> {
  try {
    const { stdout } = await run(dbusDaemon, ['--version'], { timeout: 10_000 });
    const version = /(\d+\.\d+\.\d+)/.exec(stdout)?.[1] ?? 'unknown version';
    return pass('dbus-display', `dbus-daemon ${version} on ${hostname} runs the domain's D-Bus display bus`);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : (err as Error).message;
    return fail(
      'dbus-display',
      `the domain's D-Bus display is on a bus of its own and dbus-daemon does not run on ${hostname}: ${why}`,
      `Install dbus-daemon on ${hostname} (apt-get install dbus-daemon), or give the display address= or p2p='yes'`,
    );
  }
}
