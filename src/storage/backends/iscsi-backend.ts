import { readdir } from 'node:fs/promises';
import { FerryError } from '../../errors/ferry-error.js';
import type { CommandRunner } from '../command-runner.js';
import type { PoolDefinition } from '../pool-definition.js';
import type { PoolStats, VolumeInfo } from '../../shared/volume.js';
import type { PoolBackend } from './pool-backend.js';

/** The target's portal, host:port (3260 by default). */
export function portalOf(def: PoolDefinition): string {
  return `${def.source.host}:${def.source.port ?? 3260}`;
}

/** iscsiadm's arguments to log in to (or out of) the pool's target. */
export function iscsiLoginArgs(def: PoolDefinition, action: 'login' | 'logout'): string[] {
  return ['--mode', 'node', '--targetname', def.source.device as string, '--portal', portalOf(def), action === 'login' ? '--login' : '--logout'];
}

/**
 * An iSCSI target: pool-start discovers and logs in with iscsiadm; each LUN
 * is a volume, found under /dev/disk/by-path. Volumes cannot be created or
 * deleted from the host (as in libvirt).
 */
export class IscsiBackend implements PoolBackend {
  readonly volumeType = 'block' as const;

  constructor(
    private readonly run: CommandRunner,
    private readonly byPath = '/dev/disk/by-path',
  ) {}

  async build(_def: PoolDefinition): Promise<void> {
    // nothing to build: the target lives on the storage server
  }

  async start(def: PoolDefinition): Promise<void> {
    await this.run('iscsiadm', ['--mode', 'discovery', '--type', 'sendtargets', '--portal', portalOf(def)]);
    await this.run('iscsiadm', iscsiLoginArgs(def, 'login'));
  }

  async stop(def: PoolDefinition): Promise<void> {
    await this.run('iscsiadm', iscsiLoginArgs(def, 'logout'));
  }

  async stats(def: PoolDefinition): Promise<PoolStats> {
    const total = (await this.listVolumes(def)).reduce((a, v) => a + v.capacity, 0);
    return { capacity: total, allocation: total, available: 0 };
  }

  async listVolumes(def: PoolDefinition): Promise<VolumeInfo[]> {
    const prefix = `ip-${portalOf(def)}-iscsi-${def.source.device}-lun-`;
    const entries = (await readdir(this.byPath).catch(() => [] as string[])).filter((e) => e.startsWith(prefix)).sort();
    const out: VolumeInfo[] = [];
    for (const e of entries) {
      const path = `${this.byPath}/${e}`;
      const { stdout } = await this.run('blockdev', ['--getsize64', path]);
      const size = Number(stdout.trim());
      out.push({ name: `unit:0:0:${e.slice(prefix.length)}`, path, type: 'block', format: 'raw', capacity: size, allocation: size });
    }
    return out;
  }

  async createVolume(def: PoolDefinition): Promise<void> {
    throw new FerryError(
      'NOT_SUPPORTED',
      `this function is not supported by the connection driver: storage pool '${def.name}' (iscsi) does not support volume creation`,
    );
  }

  async deleteVolume(def: PoolDefinition): Promise<void> {
    throw new FerryError(
      'NOT_SUPPORTED',
      `this function is not supported by the connection driver: storage pool '${def.name}' (iscsi) does not support volume deletion`,
    );
  }

  volumePath(def: PoolDefinition, name: string): string {
    const lun = name.split(':').pop();
    return `${this.byPath}/ip-${portalOf(def)}-iscsi-${def.source.device}-lun-${lun}`;
  }
}
