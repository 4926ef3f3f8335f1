import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { setprivCommand } from '../system/setpriv.js';
import { FerryError } from '../errors/ferry-error.js';
import type { CommandRunner } from './command-runner.js';

/** An NBD export of one image, served by qemu-nbd (for copying a shut-off domain's disk). */
export interface NbdServer {
  pid: number;
  port: number;
  export: string;
  stop(): void;
}

/** Starts qemu-nbd serving `path` (guest-visible data of a `format` image) as `exportName` on address:port. */
export async function startNbdServer(a: {
  run: CommandRunner;
  path: string;
  format: string;
  address: string;
  port: number;
  exportName: string;
  pidFile: string;
}): Promise<NbdServer> {
  await a.run('qemu-nbd', [
    '--fork',
    '--persistent',
    '--shared=2',
    `--format=${a.format}`,
    `--export-name=${a.exportName}`,
    `--bind=${a.address}`,
    `--port=${a.port}`,
    `--pid-file=${a.pidFile}`,
    '--cache=none',
    a.path,
  ]);
  const pid = Number(readFileSync(a.pidFile, 'utf8').trim());
  return {
    pid,
    port: a.port,
    export: a.exportName,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
      rmSync(a.pidFile, { force: true });
    },
  };
}

/** nbd://host:port/export, with IPv6 hosts bracketed. */
export function nbdUri(host: string, port: number, exportName: string): string {
  return `nbd://${host.includes(':') ? `[${host}]` : host}:${port}/${exportName}`;
}

/**
 * Copies an image's guest-visible data into an NBD export with qemu-img
 * convert (zero and unallocated areas are skipped), reporting progress 0–100.
 */
export function copyToNbd(a: { source: string; format: string; target: string; onProgress: (percent: number) => void; signal?: AbortSignal }): Promise<void> {
  return new Promise((resolve, reject) => {
    const cmd = setprivCommand('qemu-img', ['convert', '-n', '-p', '--target-is-zero', '-f', a.format, '-O', 'raw', a.source, a.target], {
      dieWithParent: true,
    });
    const child = spawn(cmd.command, cmd.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: a.signal,
    });
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (const m of d.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)) a.onProgress(Math.floor(Number(m[1])));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => reject(new FerryError('POOL_COMMAND_FAILED', `qemu-img convert: ${e.message}`, { cause: e })));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new FerryError('MIG_FAILED', `operation failed: copying ${a.source} failed: ${err.trim() || `qemu-img exited ${code}`}`));
    });
  });
}

/** True when the source image and the copy behind the NBD export hold the same guest-visible data. */
export async function sameContents(run: CommandRunner, a: { source: string; format: string; target: string }): Promise<boolean> {
  try {
    await run('qemu-img', ['compare', '-q', '-f', a.format, '-F', 'raw', a.source, a.target]);
    return true;
  } catch (err) {
    if (err instanceof FerryError && /compare/.test(err.message)) return false;
    throw err;
  }
}
