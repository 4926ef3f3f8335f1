import { existsSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { cacheFlags } from '../qemu/argv.js';
import { BlockMonitor, type BlockJobInfo } from '../qemu/block-monitor.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import type { Lease } from '../shared/lease.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import type { HostService } from './host-service.js';
import type { RunningDomain } from './running-domain.js';
import type { BlockJobStatus } from '../shared/api-types.js';

export interface BlockCopyRequest {
  /** Copy into this pool (same volume name as the source file). */
  pool?: string;
  /** Or to this path. */
  dest?: string;
  format?: 'raw' | 'qcow2';
  /** After the copy is in step: pivot the guest to it, or finish (keep the copy, stay on the original). */
  then?: 'pivot' | 'finish';
  /** Wait for the copy to be in step (and for then) before answering. */
  wait: boolean;
  /** Bytes per second, 0 = unlimited. */
  bandwidth?: number;
  reuseExternal?: boolean;
}

interface CopyJob {
  vm: RunningDomain;
  dev: string;
  jobId: string;
  path: string;
  target: DiskDefinition['source'] & { type: 'file' | 'volume' };
  nodes: { format: string; file: string };
  oldNodes: { format: string; file: string };
  created: boolean;
  /** The disk's leases before the copy, and the copy's (taken when the copy starts: QEMU writes it from then on). */
  leases: { old: Lease[]; copy: Lease[] };
  release: () => void;
}

/**
 * Live block copy on one host (virsh blockcopy / blockjob): the seed's "live
 * storage migration between pools". A blockdev-mirror copies the disk into a
 * new image while the guest keeps writing; once in step it either pivots the
 * guest onto the copy (definitions follow) or finishes with a consistent copy.
 */
export class BlockCopyService {
  private readonly jobs = new Map<string, CopyJob>();

  constructor(private readonly deps: { host: HostService; storage: StorageService; qemuImg: QemuImg; log: Logger }) {}

  async start(ref: string, dev: string, req: BlockCopyRequest): Promise<BlockJobStatus> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    const vm = host.runningDomain(rec.uuid);
    if (!vm) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
    const disk = vm.def.devices.disks.find((d) => d.target.dev === dev);
    if (!disk) throw new FerryError('DISK_NOT_FOUND', `invalid argument: disk '${dev}' not found in domain`);
    if (disk.copyOnRead) {
      throw new FerryError(
        'NOT_SUPPORTED',
        `this function is not supported by the connection driver: block copy of disk '${dev}', which reads through a copy-on-read filter (copy_on_read='on')`,
      );
    }
    // As libvirt (qemuDomainDiskBlockJobIsSupported): the overlay of a <transient/> disk is discarded at stop.
    if (disk.transient)
      throw new FerryError(
        'NOT_SUPPORTED',
        `this function is not supported by the connection driver: block jobs are not supported on transient disks (disk '${dev}')`,
      );
    if (this.jobs.has(key(vm.uuid, dev)))
      throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: disk '${dev}' already in active block job`);
    const release = await host.jobs.beginAsync(vm.uuid, 'blockcopy');
    const blk = new BlockMonitor(vm.monitor);
    let created = false;
    let path = '';
    let copyLeases: Lease[] = [];
    try {
      const source = await this.sourcePath(disk);
      const format = req.format ?? disk.format;
      let target: CopyJob['target'];
      if (req.pool) {
        const pool = this.deps.storage.active(req.pool);
        path = `${pool.def.target.path}/${basename(source)}`;
        target = { type: 'volume', pool: req.pool, volume: basename(source) };
      } else if (req.dest) {
        path = req.dest;
        target = { type: 'file', file: req.dest };
      } else {
        throw new FerryError('INVALID_ARGUMENT', 'invalid argument: blockcopy needs a destination path or --pool');
      }
      if (path === source) throw new FerryError('INVALID_ARGUMENT', `invalid argument: the copy of '${dev}' would overwrite its own image ${source}`);
      if (existsSync(path) && !req.reuseExternal) {
        throw new FerryError('VOL_EXISTS', `storage volume '${path}' exists already`, { hint: 'Delete it first, or pass --reuse-external to copy into it' });
      }
      if (!req.reuseExternal) {
        const info = await this.deps.qemuImg.info(source);
        await this.deps.qemuImg.create(path, format, info.virtualSize);
        created = true;
      }
      // QEMU writes the copy from now on: lease it first (refused if another holder has it), as the disk is.
      const leases = { old: await this.diskLeases(vm.def, dev), copy: await this.diskLeases(withDiskSource(vm.def, dev, target), dev) };
      await host.locks.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, leases.copy);
      copyLeases = leases.copy;
      // QEMU runs unprivileged: the copy's image must be its user's to write before QEMU opens it.
      this.deps.host.grantToQemu([{ path, access: 'rw', what: `block copy target of disk ${dev}` }]);
      const oldFormat = await blk.currentNode(dev);
      const suffix = `${dev}-c${Date.now().toString(36)}`;
      const nodes = { format: `fmt-${suffix}`, file: `file-${suffix}` };
      const cache = cacheFlags(disk.cache);
      const common = { cache: { direct: cache.direct, 'no-flush': cache.noFlush } };
      await blk.add({ driver: 'file', filename: path, 'node-name': nodes.file, ...common });
      await blk.add({ driver: format, file: nodes.file, 'node-name': nodes.format, ...common });
      const jobId = `copy-${dev}`;
      await blk.mirror({ jobId, device: oldFormat, target: nodes.format, sync: 'full', ...(req.bandwidth ? { speed: req.bandwidth } : {}) });
      this.jobs.set(key(vm.uuid, dev), {
        vm,
        dev,
        jobId,
        path,
        target,
        nodes,
        oldNodes: { format: oldFormat, file: oldFormat.replace(/^fmt-/, 'file-') },
        created,
        leases,
        release,
      });
      this.deps.log.info({ vm: vm.name, disk: dev, to: path }, 'block copy started');
    } catch (err) {
      await host.locks.releaseLeases(vm.uuid, copyLeases);
      if (created) rmSync(path, { force: true });
      release();
      throw err;
    }
    if (!req.wait && !req.then) return this.info(ref, dev);
    await this.waitReady(vm, dev);
    if (req.then === 'pivot') await this.pivot(ref, dev);
    else if (req.then === 'finish') await this.finish(ref, dev);
    return { disk: dev, kind: 'copy', offset: 1, len: 1, ready: true, percent: 100 };
  }

  /** Does a block copy run on the domain? (pre-flight refuses a migration then) */
  hasJob(uuid: string): boolean {
    return [...this.jobs.keys()].some((k) => k.startsWith(`${uuid}/`));
  }

  async info(ref: string, dev: string): Promise<BlockJobStatus> {
    const job = this.job(ref, dev);
    const j = await this.qemuJob(job);
    return status(dev, j);
  }

  /** Waits until the copy is in step with the disk (BLOCK_JOB_READY), publishing progress. */
  async waitReady(vm: RunningDomain, dev: string): Promise<void> {
    const job = this.jobs.get(key(vm.uuid, dev));
    if (!job) throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: No active block job '${dev}'`);
    const events = vm.monitor.listen(['BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_ERROR']);
    try {
      for (;;) {
        const j = await this.qemuJob(job);
        this.deps.host.publish({
          type: 'blockjob.progress',
          uuid: vm.uuid,
          name: vm.name,
          disk: dev,
          kind: 'copy',
          offset: j.offset,
          len: j.len,
          ready: j.ready,
          at: Date.now(),
        });
        if (j.ready) return;
        await events.next({ timeoutMs: 200 }).catch(() => undefined);
      }
    } finally {
      events.close();
    }
  }

  /** Switches the guest to the copy; the domain's definitions now point at it. */
  async pivot(ref: string, dev: string): Promise<void> {
    const job = this.job(ref, dev);
    const blk = new BlockMonitor(job.vm.monitor);
    const j = await this.qemuJob(job);
    if (!j.ready) throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: block copy of '${dev}' is not ready for pivot yet`);
    await this.endJob(job, () => blk.complete(job.jobId));
    await blk.del(job.oldNodes.format).catch(() => undefined);
    await blk.del(job.oldNodes.file).catch(() => undefined);
    // The guest writes only the copy now: the original's lease goes, the copy's stays.
    await this.deps.host.locks.releaseLeases(job.vm.uuid, job.leases.old);
    this.retarget(job);
    this.forget(job);
    this.deps.log.info({ vm: job.vm.name, disk: dev, to: job.path }, 'block copy pivoted');
  }

  /** Ends the copy without pivoting: the copy is consistent as of now; the guest stays on its disk. */
  async finish(ref: string, dev: string): Promise<void> {
    const job = this.job(ref, dev);
    const blk = new BlockMonitor(job.vm.monitor);
    if (!(await this.qemuJob(job)).ready)
      throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: block copy of '${dev}' is not in step yet`);
    await this.endJob(job, () => blk.cancel(job.jobId));
    await blk.del(job.nodes.format).catch(() => undefined);
    await blk.del(job.nodes.file).catch(() => undefined);
    await this.deps.host.locks.releaseLeases(job.vm.uuid, job.leases.copy);
    this.forget(job);
  }

  /** Abandons the copy; the guest stays on its disk and a copy ferry created is removed. */
  async abort(ref: string, dev: string): Promise<void> {
    const job = this.job(ref, dev);
    const blk = new BlockMonitor(job.vm.monitor);
    await this.endJob(job, () => blk.cancel(job.jobId, true));
    await blk.del(job.nodes.format).catch(() => undefined);
    await blk.del(job.nodes.file).catch(() => undefined);
    await this.deps.host.locks.releaseLeases(job.vm.uuid, job.leases.copy);
    if (job.created) rmSync(job.path, { force: true });
    this.forget(job);
  }

  private async endJob(job: CopyJob, action: () => Promise<void>): Promise<void> {
    const blk = new BlockMonitor(job.vm.monitor);
    await action();
    const deadline = Date.now() + 60_000;
    while ((await blk.jobs()).some((j) => j.device === job.jobId)) {
      if (Date.now() > deadline) throw new FerryError('OPERATION_TIMEOUT', `block job ${job.jobId} did not end`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The leases one disk of a definition needs. */
  private async diskLeases(def: DomainDefinition, dev: string): Promise<Lease[]> {
    return (await this.deps.host.locks.leases(def)).filter((l) => l.disk === dev);
  }

  /** After a pivot, the running and the persistent definitions name the new image. */
  private retarget(job: CopyJob): void {
    const { host } = this.deps;
    const move = (def: DomainDefinition): DomainDefinition => withDiskSource(def, job.dev, job.target);
    const live = move(job.vm.def);
    job.vm.updateDefinition(live);
    host.store.setLiveXml(job.vm.uuid, renderLiveXml(live));
    const rec = host.store.get(job.vm.uuid);
    if (rec?.persistentXml)
      host.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(move(parseDomainXml(rec.persistentXml))) });
  }

  private forget(job: CopyJob): void {
    this.jobs.delete(key(job.vm.uuid, job.dev));
    job.release();
  }

  private job(ref: string, dev: string): CopyJob {
    const rec = this.deps.host.lookup(ref);
    const job = this.jobs.get(key(rec.uuid, dev));
    if (!job) throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: No active block job '${dev}'`);
    return job;
  }

  private async qemuJob(job: CopyJob): Promise<BlockJobInfo> {
    const j = (await new BlockMonitor(job.vm.monitor).jobs()).find((x) => x.device === job.jobId);
    if (!j) throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: block copy of '${job.dev}' ended`);
    if (j.error) throw new FerryError('POOL_COMMAND_FAILED', `block copy of '${job.dev}' failed: ${j.error}`);
    return j;
  }

  private async sourcePath(disk: DiskDefinition): Promise<string> {
    if (disk.type === 'file' && disk.source.file) return disk.source.file;
    if (disk.type === 'volume') return this.deps.storage.resolve(disk.source.pool as string, disk.source.volume as string).path;
    throw new FerryError('NOT_SUPPORTED', `this function is not supported by the connection driver: block copy of a ${disk.type} disk`);
  }
}

function key(uuid: string, dev: string): string {
  return `${uuid}/${dev}`;
}

function status(dev: string, j: BlockJobInfo): BlockJobStatus {
  return { disk: dev, kind: 'copy', offset: j.offset, len: j.len, ready: j.ready, percent: j.len > 0 ? Math.floor((100 * j.offset) / j.len) : 0 };
}

/** A copy of `def` whose disk `dev` names `target` (the copy) instead of its image. */
function withDiskSource(def: DomainDefinition, dev: string, target: CopyJob['target']): DomainDefinition {
  const next = structuredClone(def);
  const d = next.devices.disks.find((x) => x.target.dev === dev);
  if (d) {
    d.type = target.type;
    d.source = target.type === 'volume' ? { pool: target.pool as string, volume: target.volume as string } : { file: target.file as string };
  }
  return next;
}
