import { FerryError } from '../errors/ferry-error.js';
import type { RunningDomain } from '../host/running-domain.js';
import { BlockMonitor } from '../qemu/block-monitor.js';
import type { ActiveMigration } from './active-migration.js';
import type { DiskCopy } from './disk-plan.js';

/**
 * Live storage migration, source side: each disk is mirrored (blockdev-mirror)
 * into the NBD export the destination's incoming QEMU serves for it, over TLS
 * when `tls` names the credential object and the name the server's
 * certificate must carry. Returns the block job ids (mig-DEV, which are also
 * the NBD client node names).
 */
export async function startMirrors(
  vm: RunningDomain,
  disks: DiskCopy[],
  o: { host: string; port: number; mode: 'all' | 'inc'; synchronous: boolean; speed?: number; tls?: { creds: string; hostname: string } },
): Promise<string[]> {
  const blk = new BlockMonitor(vm.monitor);
  const started: string[] = [];
  try {
    for (const d of disks) {
      const id = `mig-${d.dev}`;
      await blk.add({
        driver: 'nbd',
        'node-name': id,
        server: { type: 'inet', host: o.host, port: String(o.port) },
        export: d.dev,
        ...(o.tls ? { 'tls-creds': o.tls.creds, 'tls-hostname': o.tls.hostname } : {}),
      });
      started.push(id);
      await blk.mirror({
        jobId: id,
        device: await blk.currentNode(d.dev),
        target: id,
        sync: o.mode === 'inc' ? 'top' : 'full',
        copyMode: o.synchronous ? 'write-blocking' : 'background',
        ...(o.speed ? { speed: o.speed } : {}),
      });
    }
    return started;
  } catch (err) {
    await cancelMirrors(vm, started, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Waits until every mirror has copied its disk and follows the guest's writes (BLOCK_JOB_READY). */
export async function waitMirrorsReady(vm: RunningDomain, ids: string[], active: ActiveMigration, onProgress: () => void): Promise<void> {
  const blk = new BlockMonitor(vm.monitor);
  const events = vm.monitor.listen(['BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_ERROR']);
  try {
    for (;;) {
      const jobs = (await blk.jobs()).filter((j) => ids.includes(j.device));
      if (jobs.length < ids.length) {
        const gone = ids.filter((id) => !jobs.some((j) => j.device === id));
        throw new FerryError('MIG_FAILED', `operation failed: mirroring disk ${gone.map((g) => g.slice(4)).join(', ')} to the destination stopped`);
      }
      const failed = jobs.find((j) => j.status === 'concluded' || j.error);
      if (failed) throw new FerryError('MIG_FAILED', `operation failed: mirroring disk ${failed.device.slice(4)} failed: ${failed.error ?? failed.status}`);
      const len = jobs.reduce((a, j) => a + j.len, 0);
      const offset = jobs.reduce((a, j) => a + j.offset, 0);
      active.job = {
        ...active.job,
        diskTotal: len,
        diskProcessed: offset,
        diskRemaining: len - offset,
        percent: len > 0 ? Math.min(99, Math.floor((100 * offset) / len)) : 0,
      };
      onProgress();
      if (jobs.every((j) => j.ready)) return;
      if (active.abortRequested) throw new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client');
      const wait = new AbortController();
      const timer = setTimeout(() => wait.abort(), 100);
      try {
        await Promise.race([events.next({ signal: wait.signal }).catch(() => undefined), active.nextRequest(wait.signal)]);
      } finally {
        clearTimeout(timer);
        wait.abort();
      }
    }
  } finally {
    events.close();
  }
}

/**
 * Ends the mirrors: without force, a ready mirror completes and leaves the
 * destination's copy consistent (used at the switch, with the source stopped);
 * with force it is abandoned (rollback). Then the NBD client nodes go away.
 */
export async function cancelMirrors(vm: RunningDomain, ids: string[], o: { force: boolean }): Promise<void> {
  if (ids.length === 0) return;
  const blk = new BlockMonitor(vm.monitor);
  const present = (await blk.jobs()).filter((j) => ids.includes(j.device)).map((j) => j.device);
  for (const id of present) await blk.cancel(id, o.force);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left = (await blk.jobs()).filter((j) => ids.includes(j.device));
    if (left.length === 0) break;
    if (Date.now() > deadline) throw new FerryError('MIG_FAILED', `operation failed: disk mirrors ${left.map((j) => j.device).join(', ')} did not stop`);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const id of ids) await blk.del(id).catch(() => undefined);
}
