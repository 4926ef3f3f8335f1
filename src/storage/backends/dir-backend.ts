import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../errors/ferry-error.js';
import type { PoolDefinition } from '../pool-definition.js';
import { assertVolumeName, hasControlChars } from '../volume-name.js';
import type { QemuImg } from '../qemu-img.js';
import type { PoolStats, VolumeInfo, VolumeSpec } from '../../shared/volume.js';
import type { PoolBackend } from './pool-backend.js';

/** A directory of image files (libvirt's dir pool); netfs and fs pools are a dir pool on a mount. */
export class DirBackend implements PoolBackend {
  readonly volumeType = 'file' as const;

  constructor(protected readonly qemuImg: QemuImg) {}

  async build(def: PoolDefinition): Promise<void> {
    await mkdir(def.target.path, { recursive: true, mode: 0o755 });
  }

  async start(def: PoolDefinition): Promise<void> {
    const path = def.target.path;
    if (!existsSync(path)) {
      throw new FerryError('POOL_START_FAILED', `cannot open directory '${path}': No such file or directory`, {
        hint: `Create it with "ferry pool-build ${def.name}" or "ferry pool-start ${def.name} --build"`,
      });
    }
    if (!statSync(path).isDirectory()) throw new FerryError('POOL_START_FAILED', `'${path}' is not a directory`);
  }

  async stop(_def: PoolDefinition): Promise<void> {
    // A directory needs nothing to stop.
  }

  async stats(def: PoolDefinition): Promise<PoolStats> {
    const s = await statfs(def.target.path);
    const capacity = s.blocks * s.bsize;
    return { capacity, allocation: capacity - s.bfree * s.bsize, available: s.bavail * s.bsize };
  }

  async listVolumes(def: PoolDefinition): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const name of (await readdir(def.target.path)).sort()) {
      // As libvirt's dir pool: every regular file or block device is a volume, dot files included; names with control characters are skipped.
      if (hasControlChars(name)) continue;
      const path = join(def.target.path, name);
      const st = await stat(path).catch(() => undefined);
      if (!st || !(st.isFile() || st.isBlockDevice())) continue;
      const info = await this.qemuImg.info(path).catch(() => ({ format: 'raw', virtualSize: st.size, actualSize: st.blocks * 512 }));
      out.push({ name, path, type: st.isBlockDevice() ? 'block' : 'file', format: info.format, capacity: info.virtualSize, allocation: info.actualSize });
    }
    return out;
  }

  async createVolume(def: PoolDefinition, spec: VolumeSpec): Promise<void> {
    const path = this.volumePath(def, spec.name);
    if (existsSync(path)) throw new FerryError('VOL_EXISTS', `storage volume '${spec.name}' exists already`);
    const available = (await this.stats(def)).available;
    const needed = spec.allocation ?? 0;
    if (needed > available) {
      throw new FerryError('POOL_NO_SPACE', `Not enough space in pool '${def.name}': ${needed} bytes requested, ${available} available`);
    }
    await this.qemuImg.create(path, spec.format, spec.capacity, { preallocate: spec.allocation !== undefined && spec.allocation >= spec.capacity });
  }

  async deleteVolume(def: PoolDefinition, name: string): Promise<void> {
    await unlink(this.volumePath(def, name)).catch((err: NodeJS.ErrnoException) => {
      throw new FerryError(
        'VOL_NOT_FOUND',
        `cannot unlink file '${this.volumePath(def, name)}': ${err.code === 'ENOENT' ? 'No such file or directory' : err.message}`,
      );
    });
  }

  volumePath(def: PoolDefinition, name: string): string {
    assertVolumeName(name);
    return join(def.target.path, name);
  }
}
