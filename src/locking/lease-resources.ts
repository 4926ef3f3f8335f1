import { createHash } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import type { Lease } from '../shared/lease.js';
import type { VolumeUuids } from './volume-uuid.js';

/** libvirt's qemu-lockd.conf settings, with its names and meanings (docs/locking.md). */
export interface LockspaceConfig {
  autoDiskLeases: boolean;
  requireLeaseForDisks: boolean;
  /** Indirect leases: DIR/<sha256 of the disk path>, for disks that have no file to lock on shared storage. */
  fileLockspaceDir?: string;
  /** LVM volumes: DIR/<LV uuid>. */
  lvmLockspaceDir?: string;
  /** SCSI devices: DIR/<SCSI wwid>. */
  scsiLockspaceDir?: string;
}

/** The sha256 of a path, as libvirt's indirect lockspace names lock files. */
export function pathHash(path: string): string {
  return createHash('sha256').update(path).digest('hex');
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function isBlock(path: string): boolean {
  try {
    return statSync(path).isBlockDevice();
  } catch {
    return false;
  }
}

/**
 * The domain's own <lease> elements, as libvirt's lockd driver takes them: an
 * exclusive lock on the file <target path>/<lockspace>/<key> (ferry-lockd
 * creates it and its directory; with etcd the same string is the key). The
 * key is what an error names. A non-zero offset (a sanlock lease inside a
 * shared file) is refused, as lockd does.
 */
export function explicitLeases(def: DomainDefinition): Lease[] {
  return (def.devices.leases ?? []).map((l) => {
    if (l.target.offset !== undefined && l.target.offset !== 0) {
      throw new FerryError(
        'LOCK_LEASE_UNSUPPORTED',
        `unsupported configuration: <lease> '${l.key}': Offset must be zero for this lock manager (offset='${l.target.offset}')`,
      );
    }
    const resource = join(l.target.path, l.lockspace ?? '', l.key);
    return { resource, label: l.key, mode: 'exclusive' as const, disk: 'lease', path: l.target.path };
  });
}

/**
 * The leases a domain needs: its <lease> elements, then one per local disk (network disks have none),
 * shared for read-only and shareable disks, exclusive otherwise. The
 * resource is the image itself, or a file in a lockspace directory named
 * by the volume's uuid (LVM, SCSI) or the path's hash.
 */
export async function leasesFor(
  def: DomainDefinition,
  config: LockspaceConfig,
  deps: { uuids: VolumeUuids; resolveDisk: (disk: DiskDefinition) => string | undefined },
): Promise<Lease[]> {
  const leases: Lease[] = explicitLeases(def);
  const writable = def.devices.disks.filter((d) => !d.readonly && !d.shareable && d.type !== 'network');
  if (!config.autoDiskLeases) {
    // As lockd: a domain with a <lease> of its own meets require_lease_for_disks.
    if (config.requireLeaseForDisks && writable.length > 0 && leases.length === 0) {
      throw new FerryError('LOCK_CONFIG', 'unsupported configuration: Read/write, exclusive access, disks were present, but no leases specified');
    }
    return leases;
  }
  for (const disk of def.devices.disks) {
    if (disk.type === 'network') continue;
    const raw = deps.resolveDisk(disk);
    if (!raw) continue; // an empty cdrom
    const path = canonical(raw);
    // <transient shareBacking='yes'/>: the image is only read, by as many domains as use it.
    const mode = disk.readonly || disk.shareable || disk.transient?.shareBacking === true ? 'shared' : 'exclusive';
    let resource = path;
    let label = path;
    const block = isBlock(path);
    const lvm = block && config.lvmLockspaceDir ? await deps.uuids.lvm(path) : undefined;
    const scsi = block && !lvm && config.scsiLockspaceDir ? deps.uuids.scsi(path) : undefined;
    if (lvm && config.lvmLockspaceDir) {
      resource = join(config.lvmLockspaceDir, lvm);
      label = lvm;
    } else if (scsi && config.scsiLockspaceDir) {
      resource = join(config.scsiLockspaceDir, scsi);
      label = scsi;
    } else if (config.fileLockspaceDir) {
      label = pathHash(path);
      resource = join(config.fileLockspaceDir, label);
    }
    // An image that does not exist has nothing to protect yet (QEMU will say it is missing).
    if (resource === path && !exists(path)) continue;
    leases.push({ resource, label, mode, disk: disk.target.dev, path });
  }
  return leases;
}
