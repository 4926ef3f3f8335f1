import { FerryError } from '../errors/ferry-error.js';
import type { CommandRunner } from './command-runner.js';

export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
}

/** The qemu-img operations pools and storage migration need. */
export class QemuImg {
  constructor(
    private readonly run: CommandRunner,
    private readonly binary = 'qemu-img',
  ) {}

  async create(path: string, format: 'raw' | 'qcow2', bytes: number, options: { preallocate?: boolean } = {}): Promise<void> {
    const args = ['create', '-q', '-f', format];
    if (options.preallocate) args.push('-o', format === 'raw' ? 'preallocation=falloc' : 'preallocation=metadata');
    await this.run(this.binary, [...args, path, String(bytes)]);
  }

  /** Image facts, readable while a VM has the image open (-U). */
  async info(path: string): Promise<ImageInfo> {
    const { stdout } = await this.run(this.binary, ['info', '-U', '--output=json', path]);
    const j = JSON.parse(stdout) as { format?: string; 'virtual-size'?: number; 'actual-size'?: number };
    if (!j.format || j['virtual-size'] === undefined) throw new FerryError('POOL_COMMAND_FAILED', `qemu-img info ${path}: unexpected output`);
    return { format: j.format, virtualSize: j['virtual-size'], actualSize: j['actual-size'] ?? 0 };
  }
}
