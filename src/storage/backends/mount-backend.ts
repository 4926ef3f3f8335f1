import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { FerryError } from '../../errors/ferry-error.js';
import type { CommandRunner } from '../command-runner.js';
import type { PoolDefinition } from '../pool-definition.js';
import type { QemuImg } from '../qemu-img.js';
import { DirBackend } from './dir-backend.js';

/** mount(8)'s arguments for a netfs or fs pool (pure; unit-tested). */
export function mountArgs(def: PoolDefinition): string[] {
  const s = def.source;
  if (def.type === 'fs') {
    return [...(s.format && s.format !== 'auto' ? ['-t', s.format] : []), s.device as string, def.target.path];
  }
  const format = def.type === 'gluster' ? 'glusterfs' : (s.format ?? 'nfs');
  switch (format) {
    case 'cifs':
      return ['-t', 'cifs', `//${s.host}/${(s.dir ?? '').replace(/^\/+/, '')}`, def.target.path, '-o', 'guest'];
    case 'glusterfs':
      return ['-t', 'glusterfs', `${s.host}:/${(s.name ?? s.dir ?? '').replace(/^\/+/, '')}`, def.target.path];
    default:
      return ['-t', format, `${s.host}:${s.dir}`, def.target.path];
  }
}

/** True when something is mounted on `path` (from /proc/self/mounts). */
export function isMounted(path: string, mounts = readMounts()): boolean {
  return mounts.split('\n').some((l) => l.split(' ')[1] === path);
}

function readMounts(): string {
  try {
    return readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}

/**
 * A dir pool on a mount: netfs (NFS, CIFS, GlusterFS through FUSE), fs (a
 * local block device) and gluster. start() mounts the source on the target
 * directory unless it is mounted already; stop() unmounts it.
 */
export class MountBackend extends DirBackend {
  constructor(
    qemuImg: QemuImg,
    private readonly run: CommandRunner,
  ) {
    super(qemuImg);
  }

  override async start(def: PoolDefinition): Promise<void> {
    await mkdir(def.target.path, { recursive: true, mode: 0o755 });
    if (isMounted(def.target.path)) return;
    try {
      await this.run('mount', mountArgs(def));
    } catch (err) {
      throw new FerryError('POOL_START_FAILED', `failed to mount the source of pool '${def.name}' on ${def.target.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  override async stop(def: PoolDefinition): Promise<void> {
    if (!isMounted(def.target.path)) return;
    await this.run('umount', [def.target.path]);
  }
}
