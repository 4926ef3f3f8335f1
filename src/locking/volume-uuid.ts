import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { CommandRunner } from '../storage/command-runner.js';

/**
 * Identifies a block device by the uuid its storage gives it, so two paths to
 * one volume (two hosts naming one LUN differently, /dev/vg/lv and
 * /dev/mapper/vg-lv) name the same lease, as libvirt's lvm_lockspace_dir and
 * scsi_lockspace_dir do.
 */
export class VolumeUuids {
  constructor(
    private readonly run: CommandRunner,
    private readonly sysfs = '/sys',
  ) {}

  /** The LVM logical volume's uuid, or undefined when the path is not an LV. */
  async lvm(path: string): Promise<string | undefined> {
    try {
      const { stdout } = await this.run('lvs', ['--noheadings', '-o', 'lv_uuid', path]);
      const uuid = stdout.trim();
      return uuid === '' ? undefined : uuid;
    } catch {
      return undefined;
    }
  }

  /** The SCSI device's world-wide id (the key libvirt gets from scsi_id), or undefined. */
  scsi(path: string): string | undefined {
    try {
      if (!statSync(path).isBlockDevice()) return undefined;
      const name = basename(realpathSync(path));
      const dev = /^sd[a-z]+\d+$/.test(name) ? name.replace(/\d+$/, '') : name; // a partition's disk
      const wwid = readFileSync(`${this.sysfs}/block/${dev}/device/wwid`, 'utf8').trim();
      return wwid === '' ? undefined : wwid.replace(/\s+/g, '_');
    } catch {
      return undefined;
    }
  }
}
