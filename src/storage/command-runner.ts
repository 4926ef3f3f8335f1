import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';

const run = promisify(execFile);

/** Runs a host tool (mount, qemu-img, lvcreate, ...). Injected so unit tests can check command lines. */
export type CommandRunner = (command: string, args: string[]) => Promise<{ stdout: string; stderr: string }>;

/** The real runner: a missing tool or a failure becomes a POOL_COMMAND_FAILED error with the tool's own words. */
export const runCommand: CommandRunner = async (command, args) => {
  try {
    // LVM_SUPPRESS_FD_WARNINGS: lvm's tools otherwise print a warning for each descriptor Node leaves open
    // ("File descriptor 251 (pipe:...) leaked on lvcreate invocation") before their real error.
    return await run(command, args, { maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000, env: { ...process.env, LVM_SUPPRESS_FD_WARNINGS: '1' } });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new FerryError('POOL_COMMAND_FAILED', `cannot run ${command}: not installed`, { details: { command } });
    }
    const why = (e.stderr ?? '').trim() || e.message;
    throw new FerryError('POOL_COMMAND_FAILED', `${command} ${args.join(' ')}: ${why}`, { cause: err, details: { command } });
  }
};
