import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';

/** Unix socket paths are limited to 107 bytes (sun_path). */
const SUN_PATH_MAX = 107;

/** Where a ferryd keeps its files, all under one state directory. */
export class HostPaths {
  constructor(readonly stateDir: string) {
    const longest = this.qmpSocket('00000000-0000-0000-0000-000000000000');
    if (Buffer.byteLength(longest) > SUN_PATH_MAX) {
      throw new FerryError(
        'CONFIG_INVALID',
        `state directory '${stateDir}' is too long for QEMU's monitor sockets (${longest.length} > ${SUN_PATH_MAX} bytes)`,
      );
    }
  }

  get database(): string {
    return join(this.stateDir, 'ferry.db');
  }

  get logDir(): string {
    return join(this.stateDir, 'log');
  }

  get runDir(): string {
    return join(this.stateDir, 'run');
  }

  /** Per running domain: QMP socket and pidfile. */
  domainRunDir(uuid: string): string {
    return join(this.runDir, uuid);
  }

  qmpSocket(uuid: string): string {
    return join(this.domainRunDir(uuid), 'qmp.sock');
  }

  /**
   * A unix channel's socket when its definition names none (the guest agent's
   * as virt-install writes it): short names, so they fit wherever qmp.sock fits.
   */
  channelSocket(uuid: string, targetName: string): string {
    const name = targetName === 'org.qemu.guest_agent.0' ? 'ga.sock' : `c-${createHash('sha256').update(targetName).digest('hex').slice(0, 6)}`;
    return join(this.domainRunDir(uuid), name);
  }

  pidfile(uuid: string): string {
    return join(this.domainRunDir(uuid), 'qemu.pid');
  }

  /** Automatic core dumps (<on_crash> coredump-*, <watchdog action='dump'>), like libvirt's /var/lib/libvirt/qemu/dump. */
  get dumpDir(): string {
    return join(this.stateDir, 'dump');
  }

  /** The domains' UEFI variable stores, like libvirt's /var/lib/libvirt/qemu/nvram. */
  get nvramDir(): string {
    return join(this.stateDir, 'nvram');
  }

  /** A domain's own NVRAM when its definition names none: NAME_VARS.fd (.qcow2 for a qcow2 store), as libvirt names it. */
  nvram(name: string, format: 'raw' | 'qcow2'): string {
    return join(this.nvramDir, `${name}_VARS.${format === 'qcow2' ? 'qcow2' : 'fd'}`);
  }

  /** The domain log (QEMU's command line and messages), like /var/log/libvirt/qemu/NAME.log. */
  domainLog(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  /** A domain's emulated TPM state (swtpm's state directory is tpm2/ or tpm1.2/ in it): kept across starts, removed at undefine. */
  tpmStateDir(uuid: string): string {
    return join(this.stateDir, 'swtpm', uuid);
  }

  /** swtpm's log for a domain (swtpm_setup's too), as libvirt's /var/log/swtpm/libvirt/qemu/NAME-swtpm.log. */
  swtpmLog(name: string): string {
    return join(this.logDir, `${name}-swtpm.log`);
  }

  /** The output of a domain's own dbus-daemon (its D-Bus display's bus), as libvirt's NAME-dbus.log. */
  dbusLog(name: string): string {
    return join(this.logDir, `${name}-dbus.log`);
  }

  /**
   * The ivshmem server socket of a <shmem model='ivshmem-doorbell'> written
   * with <server/> and no path: one per shared-memory name on the host (the
   * server is shared by every domain using that name), as libvirt's
   * /var/lib/libvirt/shmem-NAME-sock.
   */
  shmemSocket(name: string): string {
    return join(this.stateDir, `shmem-${name}-sock`);
  }

  /** Managed save images (virsh managedsave), root's alone: STATE_DIR/save/UUID.save. */
  get saveDir(): string {
    return join(this.stateDir, 'save');
  }

  managedSaveImage(uuid: string): string {
    return join(this.saveDir, `${uuid}.save`);
  }

  /** The default copy of serial port N's output. */
  serialLog(name: string, port: number): string {
    return join(this.logDir, `${name}-serial${port}.log`);
  }
}
