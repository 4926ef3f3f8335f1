import { existsSync, readFileSync } from 'node:fs';
import { type CheckResult, fail, pass } from '../shared/check-result.js';

/** Where the kernel counts huge pages: /sys/kernel/mm/hugepages/hugepages-<size>kB/{free,resv}_hugepages. */
export interface HugepageHost {
  /** Hugepagesize of /proc/meminfo: the host's default huge page size, in KiB. */
  defaultKiB: number;
  /** Pages of `sizeKiB` free for a new user (free minus reserved), undefined when the host has no pool of that size. */
  available(sizeKiB: number): number | undefined;
}

export function readHugepageHost(sysfs = '/sys/kernel/mm/hugepages', meminfo = '/proc/meminfo'): HugepageHost {
  const defaultKiB = Number(/^Hugepagesize:\s+(\d+) kB/m.exec(existsSync(meminfo) ? readFileSync(meminfo, 'utf8') : '')?.[1] ?? 2048);
  return {
    defaultKiB,
    available(sizeKiB) {
      const dir = `${sysfs}/hugepages-${sizeKiB}kB`;
      if (!existsSync(dir)) return undefined;
      const n = (f: string): number => Number(readFileSync(`${dir}/${f}`, 'utf8').trim());
      return n('free_hugepages') - n('resv_hugepages');
    },
  };
}

const MiB = 1024;
const size = (kib: number): string => (kib >= MiB * MiB ? `${kib / MiB / MiB} GiB` : `${kib / MiB} MiB`);

/**
 * The destination has the free huge pages the domain's memory needs, size by
 * size (its guest RAM is preallocated there at the start of the migration, or
 * QEMU fails half-way): a failure says how many pages are missing.
 */
export function hugepagesCheck(
  demand: ReadonlyArray<{ sizeKiB?: number; kib: number }>,
  hostname: string,
  host: HugepageHost = readHugepageHost(),
): CheckResult {
  const ok: string[] = [];
  for (const d of demand) {
    const pageKiB = d.sizeKiB ?? host.defaultKiB;
    const need = Math.ceil(d.kib / pageKiB);
    const free = host.available(pageKiB);
    if (free === undefined) {
      return fail(
        'hugepages',
        `the domain needs ${need} huge pages of ${size(pageKiB)}; ${hostname} has no ${size(pageKiB)} pages`,
        `Reserve them on ${hostname} (echo ${need} > /sys/kernel/mm/hugepages/hugepages-${pageKiB}kB/nr_hugepages, or hugepagesz= on its kernel command line) and mount a hugetlbfs with pagesize=${pageKiB / MiB}M`,
      );
    }
    if (free < need) {
      return fail(
        'hugepages',
        `the domain needs ${need} huge pages of ${size(pageKiB)}; ${hostname} has ${free} free: ${need - free} missing`,
        `Reserve ${need - free} more on ${hostname} (/sys/kernel/mm/hugepages/hugepages-${pageKiB}kB/nr_hugepages, or vm.nr_hugepages for the default size), or free them by stopping a domain there`,
      );
    }
    ok.push(`${need} of ${free} free ${size(pageKiB)} pages`);
  }
  return pass('hugepages', `${hostname} has them: ${ok.join(', ')}`);
}
