import { readFileSync } from 'node:fs';

/**
 * Where this host's cgroup controllers are mounted: one unified (v2) hierarchy
 * with controllers, or separate v1 hierarchies (cpu, blkio, memory). A cgroup2 mount
 * beside v1 hierarchies that hold cpu or blkio (systemd's hybrid layout, whose
 * cgroup2 has no or few controllers) does not count as v2.
 */
export type CgroupLayout = { version: 2; root: string } | { version: 1; cpu?: string; blkio?: string; memory?: string };

interface Mount {
  dir: string;
  type: string;
  options: string[];
}

function mounts(text: string): Mount[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ');
      return { dir: (f[1] ?? '').replace(/\\040/g, ' '), type: f[2] ?? '', options: (f[3] ?? '').split(',') };
    });
}

/** Reads /proc/self/mounts (or `mountsText`); `controllersOf` reads a v2 mount's cgroup.controllers. */
export function detectCgroupLayout(
  mountsText = readFileSync('/proc/self/mounts', 'utf8'),
  controllersOf = (dir: string): string => readFileSync(`${dir}/cgroup.controllers`, 'utf8'),
): CgroupLayout | undefined {
  const all = mounts(mountsText);
  // The v1 hierarchies win when they hold cpu or blkio: a hybrid host (this one: cgroup2 with hugetlb only) keeps them there.
  const v1 = all.filter((x) => x.type === 'cgroup');
  const cpu = v1.find((m) => m.options.includes('cpu'));
  const blkio = v1.find((m) => m.options.includes('blkio'));
  const memory = v1.find((m) => m.options.includes('memory'));
  if (!cpu && !blkio && !memory) {
    for (const m of all.filter((x) => x.type === 'cgroup2')) {
      let controllers = '';
      try {
        controllers = controllersOf(m.dir).trim();
      } catch {
        continue;
      }
      if (controllers !== '') return { version: 2, root: m.dir };
    }
  }
  if (v1.length === 0) return undefined;
  const layout: CgroupLayout = { version: 1 };
  if (cpu) layout.cpu = cpu.dir;
  if (blkio) layout.blkio = blkio.dir;
  if (memory) layout.memory = memory.dir;
  return layout;
}
