import { readFileSync, type Stats } from 'node:fs';
import { groupId } from './unix-group.js';

/** Who a process runs as: its user, primary group and every group it belongs to (for access checks). */
export interface UnixAccount {
  name: string;
  uid: number;
  gid: number;
  /** The primary group and the supplementary groups from /etc/group, as initgroups(3) would set them. */
  groups: number[];
}

/**
 * Looks a user up in /etc/passwd (and its groups in /etc/group); `group`
 * replaces its primary group, as qemu.conf's `group` does. Undefined when the
 * user or the group does not exist.
 */
export function unixAccount(user: string, group = '', files = { passwd: '/etc/passwd', group: '/etc/group' }): UnixAccount | undefined {
  const entry = readLines(files.passwd)
    .map((l) => l.split(':'))
    .find((f) => f[0] === user || (/^\d+$/.test(user) && f[2] === user));
  if (!entry || !/^\d+$/.test(entry[2] ?? '') || !/^\d+$/.test(entry[3] ?? '')) return undefined;
  const name = entry[0] as string;
  const gid = group ? groupId(group, files.group) : Number(entry[3]);
  if (gid === undefined) return undefined;
  const groups = new Set<number>([gid]);
  for (const line of readLines(files.group)) {
    const [, , id, members] = line.split(':');
    if (id !== undefined && /^\d+$/.test(id) && (members ?? '').split(',').includes(name)) groups.add(Number(id));
  }
  return { name, uid: Number(entry[2]), gid, groups: [...groups] };
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
  } catch {
    return [];
  }
}

/** Whether `account` has the `rwx` bits in `want` (octal 0-7) on a file, by its owner, group and mode. */
export function allows(st: Pick<Stats, 'uid' | 'gid' | 'mode'>, account: Pick<UnixAccount, 'uid' | 'groups'>, want: number): boolean {
  if (account.uid === 0) return true;
  let bits: number;
  if (st.uid === account.uid) bits = (st.mode >> 6) & 7;
  else if (account.groups.includes(st.gid)) bits = (st.mode >> 3) & 7;
  else bits = st.mode & 7;
  return (bits & want) === want;
}
