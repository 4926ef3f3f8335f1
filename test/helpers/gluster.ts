import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { eventually } from './processes.js';

const run = promisify(execFile);

/**
 * A real GlusterFS server (Debian's glusterfs-server) in a lab namespace: glusterd
 * in a mount namespace of its own, its state under `dir`, one volume of one
 * brick, served on `address` (gluster refuses loopback addresses).
 */
export class GlusterServer {
  private child: ChildProcess | undefined;

  constructor(private readonly o: { netns: string; address: string; dir: string }) {}

  async start(volume: string): Promise<this> {
    const { dir } = this.o;
    for (const d of ['lib', 'log', 'run', 'brick']) mkdirSync(`${dir}/${d}`, { recursive: true });
    mkdirSync('/run/gluster', { recursive: true });
    const script = [
      'set -e',
      `mount --bind ${dir}/lib /var/lib/glusterd`,
      `mount --bind ${dir}/log /var/log/glusterfs`,
      `mount --bind ${dir}/run /run/gluster`,
      'exec glusterd -N --log-level WARNING',
    ].join('\n');
    this.child = spawn('ip', ['netns', 'exec', this.o.netns, 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script], { stdio: 'ignore' });
    await eventually(
      async () =>
        await this.cli('volume', 'list').then(
          () => true,
          () => false,
        ),
      'glusterd answers',
      30_000,
    );
    await this.cli('volume', 'create', volume, `${this.o.address}:${dir}/brick`, 'force');
    await this.cli('volume', 'start', volume);
    return this;
  }

  /** The gluster CLI, in glusterd's namespaces. */
  async cli(...args: string[]): Promise<string> {
    const pid = this.child?.pid;
    if (!pid) throw new Error('glusterd is not running');
    return (await run('nsenter', ['-t', String(pid), '-m', '-n', 'gluster', '--mode=script', ...args], { timeout: 60_000 })).stdout;
  }
}
