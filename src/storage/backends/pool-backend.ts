import type { PoolDefinition } from '../pool-definition.js';
import type { PoolStats, VolumeInfo, VolumeSpec } from '../../shared/volume.js';

/** What a pool type knows how to do; the storage service calls nothing else. */
export interface PoolBackend {
  /** pool-build: create what the pool needs (a directory, a volume group). */
  build(def: PoolDefinition): Promise<void>;
  /** pool-start: make it usable (check the directory, mount, activate, log in). */
  start(def: PoolDefinition): Promise<void>;
  /** pool-destroy: the reverse of start; volumes stay. */
  stop(def: PoolDefinition): Promise<void>;
  stats(def: PoolDefinition): Promise<PoolStats>;
  listVolumes(def: PoolDefinition): Promise<VolumeInfo[]>;
  createVolume(def: PoolDefinition, spec: VolumeSpec): Promise<void>;
  deleteVolume(def: PoolDefinition, name: string): Promise<void>;
  volumePath(def: PoolDefinition, name: string): string;
  volumeType: 'file' | 'block';
}
