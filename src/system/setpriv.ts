import type { UnixAccount } from './unix-user.js';

/**
 * A command line that runs `command` as another user and/or dies with its
 * parent, through util-linux's setpriv (Essential in Debian): the user's
 * supplementary groups are set as initgroups(3) does (so membership in `kvm`
 * opens /dev/kvm), and --pdeathsig has the kernel kill the command when ferryd
 * ends, however it ends. setpriv execs the command: the pid stays the same.
 */
export function setprivCommand(
  command: string,
  args: readonly string[],
  o: { account?: UnixAccount | undefined; dieWithParent?: boolean },
): { command: string; args: string[] } {
  const opts: string[] = [];
  if (o.account && o.account.uid !== 0) {
    opts.push('--reuid', String(o.account.uid), '--regid', String(o.account.gid));
    opts.push(...(o.account.groups.length > 0 ? ['--groups', o.account.groups.join(',')] : ['--clear-groups']));
  }
  if (o.dieWithParent) opts.push('--pdeathsig', 'KILL');
  if (opts.length === 0) return { command, args: [...args] };
  return { command: 'setpriv', args: [...opts, '--', command, ...args] };
}
