import { FerryError } from '../../errors/ferry-error.js';
import type { CommandRunner } from '../command-runner.js';
import type { PoolDefinition } from '../pool-definition.js';
import type { PoolStats, VolumeInfo, VolumeSpec } from '../../shared/volume.js';
import type { PoolBackend } from './pool-backend.js';

/** The volume group of a logical pool: <source><name>, else the last part of the target path. */
export function volumeGroupOf(def: PoolDefinition): string {
  return def.source.name ?? (def.target.path.split('/').filter(Boolean).pop() as string);
}

/** An LVM volume group; each volume is a logical volume (raw). */
export class LogicalBackend implements PoolBackend {
  readonly volumeType = 'block' as const;

  constructor(private readonly run: CommandRunner) {}

  async build(def: PoolDefinition): Promise<void> {
    if (!def.source.device) throw new FerryError('INVALID_ARGUMENT', `pool-build of a logical pool needs <source><device path=...> (a physical volume)`);
    await this.run('vgcreate', [volumeGroupOf(def), def.source.device]);
  }

  async start(def: PoolDefinition): Promise<void> {
    await this.run('vgchange', ['-aly', volumeGroupOf(def)]);
  }

  async stop(def: PoolDefinition): Promise<void> {
    await this.run('vgchange', ['-aln', volumeGroupOf(def)]);
  }

  async stats(def: PoolDefinition): Promise<PoolStats> {
    const { stdout } = await this.run('vgs', ['--noheadings', '--units', 'b', '--nosuffix', '--separator', '|', '-o', 'vg_size,vg_free', volumeGroupOf(def)]);
    const [size, free] = stdout
      .trim()
      .split('|')
      .map((v) => Number(v.trim()));
    return { capacity: size ?? 0, allocation: (size ?? 0) - (free ?? 0), available: free ?? 0 };
  }

  async listVolumes(def: PoolDefinition): Promise<VolumeInfo[]> {
    const { stdout } = await this.run('lvs', ['--noheadings', '--units', 'b', '--nosuffix', '--separator', '|', '-o', 'lv_name,lv_size', volumeGroupOf(def)]);
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [name, size] = l.split('|');
        const bytes = Number(size);
        return { name: name as string, path: this.volumePath(def, name as string), type: 'block' as const, format: 'raw', capacity: bytes, allocation: bytes };
      });
  }

  async createVolume(def: PoolDefinition, spec: VolumeSpec): Promise<void> {
    if (spec.format !== 'raw') throw new FerryError('INVALID_ARGUMENT', `logical pools hold raw volumes only, not ${spec.format}`);
    await this.run('lvcreate', ['--yes', '--name', spec.name, '--size', `${spec.capacity}b`, volumeGroupOf(def)]);
  }

  async deleteVolume(def: PoolDefinition, name: string): Promise<void> {
    await this.run('lvremove', ['--force', `${volumeGroupOf(def)}/${name}`]);
  }

  volumePath(def: PoolDefinition, name: string): string {
    return `/dev/${volumeGroupOf(def)}/${name}`;
  }
}
