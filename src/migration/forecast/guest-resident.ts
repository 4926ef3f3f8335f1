import { readFileSync } from 'node:fs';

const MiB = 1024 * 1024;

/**
 * The guest RAM's resident bytes in QEMU (`pid`), from /proc/PID/smaps: the
 * writable, non-executable mappings at least an eighth of the guest's RAM
 * in size and larger than a malloc arena (64 MiB), anonymous or memfd, whose Rss counts the pages the
 * guest ever touched. Bounded by `guestRamBytes`. Pages the guest wrote and
 * freed are counted too, so this is an upper estimate of the non-zero
 * memory the first pass sends; huge pages do not show in Rss (undefined).
 */
export function residentGuestBytes(pid: number, guestRamBytes: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  return residentFromSmaps(text, guestRamBytes);
}

/** residentGuestBytes' arithmetic over the text of a smaps file. */
export function residentFromSmaps(smaps: string, guestRamBytes: number): number | undefined {
  const minSize = Math.max(64 * MiB + 1, guestRamBytes / 8);
  let total = 0;
  let found = false;
  let candidate = false;
  for (const line of smaps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = parseInt(m[2] as string, 16) - parseInt(m[1] as string, 16);
      const perms = m[3] as string;
      const path = (m[4] as string).trim();
      candidate =
        perms.startsWith('rw') && perms[2] !== 'x' && size >= minSize && size <= guestRamBytes + 64 * MiB && (path === '' || path.startsWith('/memfd:'));
      continue;
    }
    if (candidate && line.startsWith('Rss:')) {
      const kb = Number(/(\d+)/.exec(line)?.[1]);
      if (Number.isFinite(kb)) {
        total += kb * 1024;
        found = true;
      }
      candidate = false;
    }
  }
  return found && total > 0 ? Math.min(total, guestRamBytes) : undefined;
}
