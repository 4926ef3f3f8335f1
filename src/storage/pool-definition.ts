import type { PoolType } from '../shared/volume.js';

/** A storage pool definition: the subset of libvirt's pool XML ferry reads. */
export interface PoolDefinition {
  type: PoolType;
  name: string;
  uuid: string;
  source: PoolSource;
  target: { path: string };
}

export interface PoolSource {
  /** netfs, iscsi, gluster: the server. */
  host?: string;
  port?: number;
  /** netfs: the exported directory; gluster: the directory inside the volume. */
  dir?: string;
  /** fs: the block device; logical: a physical volume; iscsi: the target IQN. */
  device?: string;
  /** logical: the volume group; gluster: the volume name. */
  name?: string;
  /** netfs: nfs (default), glusterfs, cifs; fs: the filesystem type (auto). */
  format?: string;
}

/** Pools whose volumes ferry can create and delete. */
export function poolSupportsVolumeCreation(type: PoolType): boolean {
  return type !== 'iscsi';
}
