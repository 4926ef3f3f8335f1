import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';
import type { ResolvedDiskSource } from '../qemu/argv.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import type { QemuFile } from './qemu-file-access.js';

const run = promisify(execFile);

/**
 * Where a <transient/> disk's overlay lives while the domain runs: its run
 * directory (removed when QEMU is gone, and before each start, so an overlay
 * never outlives its run nor survives a crash into the next one).
 */
export function transientOverlayPath(runDir: string, dev: string): string {
  return join(runDir, `transient-${dev}.qcow2`);
}

/**
 * Makes a fresh qcow2 overlay over each <transient/> disk's image (qemu-img
 * create -b IMAGE -F FORMAT), as libvirt does at start: the guest writes into
 * the overlay and the image is only read. Returns the disks' sources as QEMU
 * opens them (the overlay for a transient disk) and the overlays QEMU must be
 * able to write.
 */
export async function prepareTransientDisks(
  def: DomainDefinition,
  runDir: string,
  resolveDisk: (disk: DiskDefinition) => ResolvedDiskSource,
): Promise<{ resolve: (disk: DiskDefinition) => ResolvedDiskSource; files: QemuFile[] }> {
  const overlays = new Map<string, string>();
  const files: QemuFile[] = [];
  for (const disk of def.devices.disks) {
    if (!disk.transient) continue;
    const src = resolveDisk(disk);
    if (src.kind !== 'file' && src.kind !== 'block') {
      throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: transient disk '${disk.target.dev}' needs a local image (file or block)`, {
        details: { disk: disk.target.dev },
      });
    }
    const overlay = transientOverlayPath(runDir, disk.target.dev);
    try {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', disk.format, '-b', resolve(src.path), overlay]);
    } catch (err) {
      const why = ((err as { stderr?: string }).stderr ?? '').trim() || (err as Error).message;
      throw new FerryError('QEMU_LAUNCH_FAILED', `cannot create the overlay of transient disk '${disk.target.dev}' over ${src.path}: ${why}`, {
        cause: err,
        details: { disk: disk.target.dev },
      });
    }
    overlays.set(disk.target.dev, overlay);
    files.push({ path: overlay, access: 'rw', what: `overlay of transient disk ${disk.target.dev}`, create: true });
  }
  return {
    resolve: (disk) => {
      const overlay = disk.transient ? overlays.get(disk.target.dev) : undefined;
      return overlay === undefined ? resolveDisk(disk) : { kind: 'file', path: overlay, transientOverlay: true };
    },
    files,
  };
}
