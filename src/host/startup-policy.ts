import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';

/**
 * Applies each disk's <source startupPolicy> at a start: a 'requisite' or
 * 'optional' cdrom/floppy whose source is missing starts as an empty drive,
 * an 'optional' disk whose source is missing is left out of the running
 * domain (the persistent definition keeps both), as libvirt does. A
 * 'mandatory' source (and one without a policy) stays, and QEMU fails to
 * open it. Not applied to a migration's destination: its devices must be
 * the source's.
 */
export function withStartupPolicy(
  def: DomainDefinition,
  present: (disk: DiskDefinition) => boolean,
): { def: DomainDefinition; dropped: Array<{ dev: string; what: 'source' | 'disk' }> } {
  const dropped: Array<{ dev: string; what: 'source' | 'disk' }> = [];
  const disks: DiskDefinition[] = [];
  for (const disk of def.devices.disks) {
    const policy = disk.startupPolicy;
    if (policy === undefined || policy === 'mandatory' || present(disk)) {
      disks.push(disk);
      continue;
    }
    if (disk.device === 'cdrom' || disk.device === 'floppy') {
      // The drive stays, empty; its type and policy stay for dumpxml.
      const { backingStore: _b, ...rest } = disk;
      disks.push({ ...rest, source: {} });
      dropped.push({ dev: disk.target.dev, what: 'source' });
    } else {
      dropped.push({ dev: disk.target.dev, what: 'disk' });
    }
  }
  if (dropped.length === 0) return { def, dropped };
  return { def: { ...def, devices: { ...def.devices, disks } }, dropped };
}
