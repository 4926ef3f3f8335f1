import { execFileSync } from 'node:child_process';

/** Runs a command and returns its stdout; a failure names the command and carries its stderr. */
export function run(cmd: string, args: string[], options: { input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(options.input !== undefined ? { input: options.input } : {}) });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Like run(), for commands whose failure is expected and harmless (deleting what may not exist). */
export function tryRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `ip` inside a namespace. */
export function ipIn(ns: string, ...args: string[]): string {
  return run('ip', ['-n', ns, ...args]);
}

/** Any command inside a namespace (ip netns exec, which also mounts /etc/netns/NS/* over /etc). */
export function execIn(ns: string, cmd: string, ...args: string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** The argv that runs a command inside a namespace, for spawn(). */
export function nsArgv(ns: string, cmd: string, ...args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}
