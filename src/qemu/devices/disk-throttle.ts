import type { DiskDefinition, DomainDefinition } from '../../vm/definition.js';
import { IOTUNE_LIMITS, type IotuneLimit, throttleGroupId } from '../../vm/devices/disk-iotune.js';

/** The throttle filter node over a disk with <iotune>: the node its device reads. */
export function throttleNodeName(dev: string): string {
  return `thr-${dev}`;
}

/** The throttle-group object of a disk's <iotune> (the props of -object and of object-add). */
export function throttleGroupProps(disk: DiskDefinition): Record<string, unknown> | undefined {
  if (!disk.iotune) return undefined;
  const limits: Record<string, number> = {};
  for (const [key, value] of Object.entries(disk.iotune.limits) as Array<[IotuneLimit, number]>) limits[IOTUNE_LIMITS[key]] = value;
  return { 'qom-type': 'throttle-group', id: throttleGroupId(disk), limits };
}

/** One -object throttle-group per group the disks name (a disk without group_name has its own). */
export function throttleGroupArgs(def: DomainDefinition): string[] {
  const seen = new Set<string>();
  const args: string[] = [];
  for (const disk of def.devices.disks) {
    const props = throttleGroupProps(disk);
    if (!props || seen.has(props.id as string)) continue;
    seen.add(props.id as string);
    args.push('-object', JSON.stringify(props));
  }
  return args;
}

/** The throttle filter node over `below`, for a disk with <iotune>. */
export function throttleNode(disk: DiskDefinition, below: string): Record<string, unknown> {
  return { driver: 'throttle', 'node-name': throttleNodeName(disk.target.dev), 'throttle-group': throttleGroupId(disk), file: below };
}
