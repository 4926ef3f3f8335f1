import { child, el, type XmlElement } from '../../shared/xml.js';
import type { DiskDefinition, DiskIotune, DomainDefinition } from '../definition.js';
import type { DefineProblem, ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';

/**
 * <iotune>'s limits and the QEMU throttle limit each one sets (QAPI
 * ThrottleLimits): bytes and I/O operations per second, their bursts (_max)
 * and how long a burst may last (_max_length, seconds), and the I/O size
 * counted as one operation (size_iops_sec).
 */
export const IOTUNE_LIMITS = {
  total_bytes_sec: 'bps-total',
  read_bytes_sec: 'bps-read',
  write_bytes_sec: 'bps-write',
  total_iops_sec: 'iops-total',
  read_iops_sec: 'iops-read',
  write_iops_sec: 'iops-write',
  total_bytes_sec_max: 'bps-total-max',
  read_bytes_sec_max: 'bps-read-max',
  write_bytes_sec_max: 'bps-write-max',
  total_iops_sec_max: 'iops-total-max',
  read_iops_sec_max: 'iops-read-max',
  write_iops_sec_max: 'iops-write-max',
  total_bytes_sec_max_length: 'bps-total-max-length',
  read_bytes_sec_max_length: 'bps-read-max-length',
  write_bytes_sec_max_length: 'bps-write-max-length',
  total_iops_sec_max_length: 'iops-total-max-length',
  read_iops_sec_max_length: 'iops-read-max-length',
  write_iops_sec_max_length: 'iops-write-max-length',
  size_iops_sec: 'iops-size',
} as const;
export type IotuneLimit = keyof typeof IOTUNE_LIMITS;

export const IOTUNE_RULE: ElementRule = {
  children: Object.fromEntries([...Object.keys(IOTUNE_LIMITS), 'group_name'].map((k) => [k, {}])),
};

export function parseIotune(e: XmlElement, dev: string): DiskIotune {
  const limits: Partial<Record<IotuneLimit, number>> = {};
  for (const key of Object.keys(IOTUNE_LIMITS) as IotuneLimit[]) {
    const c = child(e, key);
    if (!c) continue;
    const n = Number(c.text.trim());
    if (!/^\d+$/.test(c.text.trim()) || !Number.isSafeInteger(n))
      throw xmlInvalid('iotune', `disk '${dev}': <${key}> must be a non-negative integer, not '${c.text}'`);
    limits[key] = n;
  }
  const out: DiskIotune = { limits };
  const group = child(e, 'group_name')?.text.trim();
  if (group) out.group = group;
  // libvirt's own checks: a total excludes its read/write pair, a burst needs its rate.
  for (const kind of ['bytes_sec', 'iops_sec', 'bytes_sec_max', 'iops_sec_max'] as const) {
    const total = limits[`total_${kind}`];
    if (total && (limits[`read_${kind}`] || limits[`write_${kind}`])) {
      throw xmlInvalid('iotune', `disk '${dev}': total and read/write of ${kind} cannot be set at the same time`);
    }
  }
  for (const dir of ['total', 'read', 'write'] as const) {
    for (const kind of ['bytes_sec', 'iops_sec'] as const) {
      const max = limits[`${dir}_${kind}_max`];
      if (max && max < (limits[`${dir}_${kind}`] ?? 0)) throw xmlInvalid('iotune', `disk '${dev}': ${dir}_${kind}_max cannot be smaller than ${dir}_${kind}`);
      if (max && !limits[`${dir}_${kind}`]) throw xmlInvalid('iotune', `disk '${dev}': ${dir}_${kind}_max needs ${dir}_${kind}`);
      if (limits[`${dir}_${kind}_max_length`] && !max) throw xmlInvalid('iotune', `disk '${dev}': ${dir}_${kind}_max_length needs ${dir}_${kind}_max`);
    }
  }
  return out;
}

export function renderIotune(t: DiskIotune): XmlElement {
  return el('iotune', {}, [
    ...(Object.keys(IOTUNE_LIMITS) as IotuneLimit[]).filter((k) => t.limits[k] !== undefined).map((k) => el(k, {}, String(t.limits[k]))),
    t.group === undefined ? undefined : el('group_name', {}, t.group),
  ]);
}

/** The QEMU throttle-group object a disk's <iotune> goes into: its group_name's, or its own. */
export function throttleGroupId(disk: DiskDefinition): string {
  return `throttle-${disk.iotune?.group ?? `disk-${disk.target.dev}`}`;
}

/** <throttlegroups>: each <throttlegroup> is <iotune>'s limits with a required group_name. */
export const THROTTLEGROUPS_RULE: ElementRule = { children: { throttlegroup: IOTUNE_RULE } };

export function parseThrottleGroups(e: XmlElement): NonNullable<DomainDefinition['throttleGroups']> {
  const groups = e.children
    .filter((c) => c.name === 'throttlegroup')
    .map((g) => {
      const t = parseIotune(g, 'throttlegroup');
      if (t.group === undefined) throw xmlInvalid('throttlegroup', 'a <throttlegroup> needs <group_name>');
      return { ...t, group: t.group };
    });
  const names = groups.map((g) => g.group);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw xmlInvalid('throttlegroup', `throttle group '${dup}' is defined twice`);
  return groups;
}

export function renderThrottleGroups(groups: DomainDefinition['throttleGroups']): XmlElement | undefined {
  if (!groups) return undefined;
  return el(
    'throttlegroups',
    {},
    groups.map((g) => ({ ...renderIotune(g), name: 'throttlegroup' })),
  );
}

/** The QEMU throttle-group object of a <throttlegroup> (libvirt's id). */
export function namedThrottleGroupId(name: string): string {
  return `throttle-${name}`;
}

/** Disks naming one group_name share one QEMU throttle group, so they must ask for the same limits. */
export function iotuneProblems(def: DomainDefinition): DefineProblem[] {
  const out: DefineProblem[] = [];
  const first = new Map<string, DiskDefinition>();
  const named = new Set((def.throttleGroups ?? []).map((g) => g.group));
  def.devices.disks.forEach((d, i) => {
    const at = (p: string, message: string): void =>
      void out.push({ path: `/domain/devices/disk[${i + 1}]/${p}`, device: `<disk> '${d.target.dev}'`, message });
    if (d.iotune && d.throttleFilters) at('throttlefilters', 'a disk has either <iotune> or <throttlefilters>, not both');
    if (d.iotune?.group !== undefined && named.has(d.iotune.group))
      at('iotune/group_name', `group_name '${d.iotune.group}' is the name of a <throttlegroup>; <iotune> groups and throttle groups are separate`);
    for (const f of d.throttleFilters ?? []) if (!named.has(f)) at('throttlefilters', `throttle group '${f}' is not defined in <throttlegroups>`);
  });
  def.devices.disks.forEach((d, i) => {
    const g = d.iotune?.group;
    if (!d.iotune || g === undefined) return;
    const seen = first.get(g);
    if (!seen) return void first.set(g, d);
    if (JSON.stringify(seen.iotune?.limits) !== JSON.stringify(d.iotune.limits)) {
      out.push({
        path: `/domain/devices/disk[${i + 1}]/iotune`,
        device: `<disk> '${d.target.dev}'`,
        message: `group_name '${g}' is shared with disk '${seen.target.dev}' but its limits differ; a group has one set of limits`,
      });
    }
  });
  return out;
}
