/** Where the lab lives unless --dir says otherwise. */
export const DEFAULT_LAB_DIR = '/tmp/ferry-lab';

/** A word for a POSIX shell: quoted only when it needs to be. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * The command lines that drive the lab in `dir`, as a user types them in
 * this checkout: every one names the lab's directory unless it is the
 * default, so each works as printed (`npm run demo -- --keep` leaves its lab
 * in /tmp/ferry-demo, where a bare `scripts/lab.sh on h1 ...` cannot find it).
 */
export function labUsage(dir: string, o: { firstHost: string; secondHost?: string; vmAddress: string; vm?: string }): string[] {
  const d = dir === DEFAULT_LAB_DIR ? '' : ` --dir ${shellWord(dir)}`;
  const lines = [`scripts/lab.sh on${d} ${o.firstHost} ferry list --all`];
  if (o.secondHost)
    lines.push(`scripts/lab.sh on${d} ${o.firstHost} ferry migrate --live --verbose --persistent ${o.vm ?? 'VM'} qemu+ssh://${o.secondHost}/system`);
  lines.push(`scripts/lab.sh switch${d} ping -c 3 ${o.vmAddress}`, `scripts/lab.sh status${d}`, `scripts/lab.sh down${d}`);
  return lines;
}
