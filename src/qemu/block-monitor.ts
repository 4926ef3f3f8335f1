import type { QemuMonitor } from './monitor.js';

/** query-block-jobs' entries (qapi/block-core.json BlockJobInfo). */
export interface BlockJobInfo {
  device: string;
  type: string;
  len: number;
  offset: number;
  busy: boolean;
  paused: boolean;
  speed: number;
  ready: boolean;
  status: string;
  error?: string;
}

/** The block-layer commands of QEMU's monitor that copies and storage migration use, typed. */
export class BlockMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  async add(options: Record<string, unknown>): Promise<void> {
    await this.monitor.call('blockdev-add', options);
  }

  async del(nodeName: string): Promise<void> {
    await this.monitor.call('blockdev-del', { 'node-name': nodeName });
  }

  /** blockdev-mirror from a node to a target node (job id = `jobId`). */
  async mirror(a: {
    jobId: string;
    device: string;
    target: string;
    sync: 'full' | 'top';
    speed?: number;
    copyMode?: 'background' | 'write-blocking';
  }): Promise<void> {
    await this.monitor.call('blockdev-mirror', {
      'job-id': a.jobId,
      device: a.device,
      target: a.target,
      sync: a.sync,
      ...(a.speed ? { speed: a.speed } : {}),
      ...(a.copyMode ? { 'copy-mode': a.copyMode } : {}),
    });
  }

  /** For a ready mirror: stop it and keep the source (the copy stays a consistent point-in-time copy). */
  async cancel(jobId: string, force = false): Promise<void> {
    await this.monitor.call('block-job-cancel', { device: jobId, ...(force ? { force: true } : {}) });
  }

  /** For a ready mirror: pivot the guest's disk to the copy. */
  async complete(jobId: string): Promise<void> {
    await this.monitor.call('block-job-complete', { device: jobId });
  }

  async setSpeed(jobId: string, bytesPerSecond: number): Promise<void> {
    await this.monitor.call('block-job-set-speed', { device: jobId, speed: bytesPerSecond });
  }

  jobs(): Promise<BlockJobInfo[]> {
    return this.monitor.call<BlockJobInfo[]>('query-block-jobs');
  }

  /** The node a guest disk (device id disk-DEV) reads and writes right now (it changes after a pivot). */
  async currentNode(dev: string): Promise<string> {
    const blocks = await this.monitor.call<Array<{ qdev?: string; device?: string; inserted?: { 'node-name': string } }>>('query-block');
    const b = blocks.find((x) => x.qdev === `disk-${dev}` || x.qdev?.startsWith(`/machine/peripheral/disk-${dev}/`));
    const node = b?.inserted?.['node-name'];
    if (!node) throw new Error(`no block node for disk ${dev}`);
    return node;
  }

  /** With `tlsCreds` (a tls-creds object, endpoint server) clients must negotiate TLS first. */
  async nbdServerStart(host: string, port: number, tlsCreds?: string): Promise<void> {
    await this.monitor.call('nbd-server-start', { addr: { type: 'inet', data: { host, port: String(port) } }, ...(tlsCreds ? { 'tls-creds': tlsCreds } : {}) });
  }

  async nbdServerStop(): Promise<void> {
    await this.monitor.call('nbd-server-stop');
  }

  async exportAdd(a: { id: string; nodeName: string; name: string; writable: boolean }): Promise<void> {
    await this.monitor.call('block-export-add', { type: 'nbd', id: a.id, 'node-name': a.nodeName, name: a.name, writable: a.writable });
  }
}
