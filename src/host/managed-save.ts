import { chownSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { MigrationMonitor, type QemuMigrationInfo } from '../qemu/migration-monitor.js';
import type { UnixAccount } from '../system/unix-user.js';
import type { HostPaths } from './host-paths.js';
import type { RunningDomain } from './running-domain.js';
import { pauseVcpus } from './vcpu-pause.js';

export interface ManagedSaveOptions {
  /** virsh managedsave --running / --paused: how the domain comes back at its next start (default: as it is now). */
  running?: boolean;
  paused?: boolean;
}

/** What ferry keeps beside an image: how the domain comes back (libvirt keeps it in the image's header). */
interface ImageMeta {
  resume: boolean;
  savedAt: number;
}

/**
 * libvirt's managed save: a domain's memory and device state written to a
 * file ferryd owns (STATE_DIR/save/UUID.save, root's, mode 0600) by QEMU's
 * migration to a file, and read back at the next start (-incoming defer,
 * migrate-incoming). QEMU, which may run unprivileged, writes and reads the
 * stream in its own run directory; ferryd moves it in and out of save/.
 */
export class ManagedSaveImages {
  constructor(private readonly o: { paths: HostPaths; account: UnixAccount | undefined; log: Logger }) {}

  path(uuid: string): string {
    return this.o.paths.managedSaveImage(uuid);
  }

  has(uuid: string): boolean {
    return existsSync(this.path(uuid));
  }

  /** Removes the image (virsh managedsave-remove, start --force-boot, undefine --managed-save); false when there was none. */
  remove(uuid: string): boolean {
    const had = this.has(uuid);
    rmSync(this.path(uuid), { force: true });
    rmSync(metaPath(this.path(uuid)), { force: true });
    return had;
  }

  /** Whether the domain saved in the image runs again at restore (false: it stays paused). */
  resumes(uuid: string): boolean {
    try {
      return (JSON.parse(readFileSync(metaPath(this.path(uuid)), 'utf8')) as ImageMeta).resume;
    } catch {
      return true;
    }
  }

  /**
   * Pauses the vCPUs, streams the state to a file and moves it to save/. The
   * caller ends QEMU afterwards. On failure the domain runs again as it was.
   */
  async save(vm: RunningDomain, options: ManagedSaveOptions): Promise<void> {
    const wasRunning = vm.status.state === 'running';
    const resume = options.paused ? false : options.running ? true : wasRunning;
    const tmp = join(this.o.paths.domainRunDir(vm.uuid), 'managedsave.tmp');
    const mm = new MigrationMonitor(vm.monitor);
    if (wasRunning) await pauseVcpus(vm, 'saving');
    try {
      await mm.migrate(`file:${tmp}`);
      await finished(mm, vm, 'save');
      mkdirSync(this.o.paths.saveDir, { recursive: true, mode: 0o700 });
      const image = this.path(vm.uuid);
      moveFile(tmp, image);
      chownSync(image, 0, 0);
      writeFileSync(metaPath(image), JSON.stringify({ resume, savedAt: Date.now() } satisfies ImageMeta), { mode: 0o600 });
    } catch (err) {
      rmSync(tmp, { force: true });
      if (wasRunning) await resumeAfterFailure(vm, this.o.log);
      if (err instanceof FerryError) throw err;
      throw new FerryError('MANAGED_SAVE_FAILED', `operation failed: cannot save domain '${vm.name}': ${(err as Error).message}`, { cause: err });
    }
  }

  /** Feeds the image to a QEMU launched with -incoming defer and waits until it has all of it (vCPUs still paused). */
  async restore(vm: RunningDomain): Promise<void> {
    const image = this.path(vm.uuid);
    const staged = join(this.o.paths.domainRunDir(vm.uuid), 'managedsave.restore');
    const a = this.o.account;
    try {
      // A second name for the image in QEMU's own directory (a copy across filesystems), readable by QEMU's user.
      try {
        linkSync(image, staged);
      } catch {
        copyFileSync(image, staged);
      }
      if (a) chownSync(staged, a.uid, a.gid);
      const mm = new MigrationMonitor(vm.monitor);
      await mm.incoming(`file:${staged}`);
      await finished(mm, vm, 'restore');
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError(
        'MANAGED_SAVE_RESTORE_FAILED',
        `operation failed: cannot restore domain '${vm.name}' from its managed save image ${image}: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      rmSync(staged, { force: true });
      if (a && existsSync(image)) chownSync(image, 0, 0);
    }
  }
}

function metaPath(image: string): string {
  return image.replace(/\.save$/, '.json');
}

function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(from, to);
    rmSync(from, { force: true });
  }
}

async function resumeAfterFailure(vm: RunningDomain, log: Logger): Promise<void> {
  try {
    vm.expectResume('unpaused');
    await vm.monitor.cont();
  } catch (err) {
    log.warn({ err, vm: vm.name }, 'cannot resume the domain after a failed managed save');
  }
}

/** Waits until QEMU's migration to or from the file ends (query-migrate; the incoming side reports there too). */
async function finished(mm: MigrationMonitor, vm: RunningDomain, what: 'save' | 'restore'): Promise<QemuMigrationInfo> {
  for (;;) {
    const info = await mm.query();
    if (info.status === 'completed') return info;
    if (info.status === 'failed' || info.status === 'cancelled') {
      const code = what === 'save' ? 'MANAGED_SAVE_FAILED' : 'MANAGED_SAVE_RESTORE_FAILED';
      throw new FerryError(code, `operation failed: ${what} of domain '${vm.name}' ${info.status}: ${info['error-desc'] ?? 'QEMU gave no reason'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
