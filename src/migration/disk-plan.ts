import { existsSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import type { DomainDefinition } from '../vm/definition.js';

/** One disk whose data a migration copies, and where it lands on the destination. */
export interface DiskCopy {
  dev: string;
  format: 'raw' | 'qcow2';
  sourcePath: string;
  virtualSize: number;
  /** Bytes the image uses on the source (what the destination must have room for). */
  allocation: number;
  /** The same pool and volume name, or the same path, as on the source. */
  target: { pool: string; volume: string } | { path: string };
}

/**
 * Which disks a storage migration copies: every writable local disk, or the
 * ones --migrate-disks names. Read-only disks and block/network disks are
 * taken to be shared (reachable at the same place from the destination).
 */
export async function planDiskCopies(
  def: DomainDefinition,
  o: { migrateDisks?: string[] },
  deps: { storage: StorageService; qemuImg: QemuImg },
): Promise<DiskCopy[]> {
  const wanted = o.migrateDisks;
  for (const dev of wanted ?? []) {
    if (!def.devices.disks.some((d) => d.target.dev === dev)) {
      throw new FerryError('DISK_NOT_FOUND', `invalid argument: disk '${dev}' given in --migrate-disks is not a disk of domain '${def.name}'`);
    }
  }
  const out: DiskCopy[] = [];
  for (const disk of def.devices.disks) {
    const dev = disk.target.dev;
    if (wanted ? !wanted.includes(dev) : disk.readonly || disk.device === 'cdrom' || disk.shareable) continue;
    let sourcePath: string;
    let target: DiskCopy['target'];
    if (disk.type === 'volume') {
      sourcePath = deps.storage.resolve(disk.source.pool as string, disk.source.volume as string).path;
      target = { pool: disk.source.pool as string, volume: disk.source.volume as string };
    } else if (disk.type === 'file' && disk.source.file) {
      sourcePath = disk.source.file;
      const pool = deps.storage.poolOfPath(sourcePath);
      target = pool && dirname(sourcePath) === pool.def.target.path ? { pool: pool.name, volume: basename(sourcePath) } : { path: sourcePath };
    } else {
      if (wanted) throw new FerryError('NOT_SUPPORTED', `this function is not supported by the connection driver: cannot copy ${disk.type} disk '${dev}'`);
      continue;
    }
    const info = await deps.qemuImg.info(sourcePath);
    if (info.format !== disk.format) {
      throw new FerryError('XML_INVALID', `XML error: disk '${dev}' is declared ${disk.format} but ${sourcePath} is ${info.format} in <driver>`);
    }
    out.push({ dev, format: disk.format, sourcePath, virtualSize: info.virtualSize, allocation: info.actualSize, target });
  }
  return out;
}

/** The destination's side: the path each copy goes to, checked for room, then created. */
export async function createDiskTargets(copies: DiskCopy[], deps: { storage: StorageService; qemuImg: QemuImg }): Promise<string[]> {
  const paths: string[] = [];
  const neededPerPool = new Map<string, number>();
  for (const c of copies) {
    let path: string;
    if ('pool' in c.target) {
      let active;
      try {
        active = deps.storage.active(c.target.pool);
      } catch (err) {
        if (err instanceof FerryError) {
          throw new FerryError(err.code, `${err.message} (on the destination, for disk ${c.dev})`, {
            hint: `Define and start pool '${c.target.pool}' on the destination: the copy goes to the pool of the same name`,
          });
        }
        throw err;
      }
      path = `${active.def.target.path}/${c.target.volume}`;
      neededPerPool.set(c.target.pool, (neededPerPool.get(c.target.pool) ?? 0) + c.allocation);
    } else {
      path = c.target.path;
      if (!existsSync(dirname(path))) {
        throw new FerryError('VOL_NOT_FOUND', `cannot create disk ${c.dev} at ${path} on the destination: directory ${dirname(path)} does not exist`);
      }
    }
    if (existsSync(path)) {
      throw new FerryError('VOL_EXISTS', `storage volume '${path}' exists already on the destination`, {
        hint: `Delete the stale copy there ("ferry vol-delete ${path}") if no domain uses it`,
      });
    }
    paths.push(path);
  }
  for (const [pool, needed] of neededPerPool) {
    const info = await deps.storage.info(pool);
    if (info.stats && needed > info.stats.available) {
      throw new FerryError(
        'POOL_NO_SPACE',
        `Not enough space in pool '${pool}' on the destination: the disks need ${needed} bytes, ${info.stats.available} are available`,
      );
    }
  }
  const created: string[] = [];
  try {
    for (const [i, c] of copies.entries()) {
      await deps.qemuImg.create(paths[i] as string, c.format, c.virtualSize);
      created.push(paths[i] as string);
    }
  } catch (err) {
    removeFiles(created);
    throw err;
  }
  return created;
}

export function removeFiles(paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}
