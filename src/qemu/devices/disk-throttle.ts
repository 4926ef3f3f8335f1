import type { DiskDefinition, DiskIotune, DomainDefinition } from '../../vm/definition.js';
import { IOTUNE_LIMITS, type IotuneLimit, namedThrottleGroupId, throttleGroupId } from '../../vm/devices/disk-iotune.js';

/** The throttle filter node over a disk with <iotune>: the node its device reads. */
export function throttleNodeName(dev: string): string {
  return `thr-${dev}`;
}

/** The throttle-group object of a disk's <iotune> (the props of -object and of object-add). */
export function throttleGroupProps(disk: DiskDefinition): Record<string, unknown> | undefined {
  if (!disk.iotune) return undefined;
  return { 'qom-type': 'throttle-group', id: throttleGroupId(disk), limits: limitsOf(disk.iotune) };
}

function limitsOf(t: DiskIotune): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [key, value] of Object.entries(t.limits) as Array<[IotuneLimit, number]>) limits[IOTUNE_LIMITS[key]] = value;
  return limits;
}

/** One -object throttle-group per <throttlegroup>, then one per <iotune> group (a disk without group_name has its own). */
export function throttleGroupArgs(def: DomainDefinition): string[] {
  const seen = new Set<string>();
  const args: string[] = [];
  for (const g of def.throttleGroups ?? []) {
    args.push('-object', JSON.stringify({ 'qom-type': 'throttle-group', id: namedThrottleGroupId(g.group), limits: limitsOf(g) }));
  }
  for (const disk of def.devices.disks) {
    const props = throttleGroupProps(disk);
    if (!props || seen.has(props.id as string)) continue;
    seen.add(props.id as string);
    args.push('-object', JSON.stringify(props));
  }
  return args;
}

/** The throttle filter nodes of a disk's <throttlefilters>, each over the one before, the first over `below`. */
export function throttleFilterNodes(disk: DiskDefinition, below: string): Array<Record<string, unknown>> {
  const nodes: Array<Record<string, unknown>> = [];
  (disk.throttleFilters ?? []).forEach((group, i) => {
    const file = (nodes.at(-1)?.['node-name'] as string | undefined) ?? below;
    nodes.push({ driver: 'throttle', 'node-name': throttleFilterNodeName(disk.target.dev, i + 1), 'throttle-group': namedThrottleGroupId(group), file });
  });
  return nodes;
}

export function throttleFilterNodeName(dev: string, n: number): string {
  return `thr-${dev}-${n}`;
}

/** The throttle filter node over `below`, for a disk with <iotune>. */
export function throttleNode(disk: DiskDefinition, below: string): Record<string, unknown> {
  return { driver: 'throttle', 'node-name': throttleNodeName(disk.target.dev), 'throttle-group': throttleGroupId(disk), file: below };
}
