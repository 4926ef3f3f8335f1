import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository's root (dist/test/helpers → ../../..). */
const repoRoot = (): string => resolve(import.meta.dirname, '..', '..', '..');

/**
 * Builds (once, cached in .cache) the clean Debian 12 root that boots under systemd-nspawn, and returns its path;
 * `qemu`: that root with QEMU 10 inside (scripts/systemd-root.sh qemu).
 */
export function systemdRootTemplate(variant?: 'qemu'): string {
  return execFileSync('bash', [join(repoRoot(), 'scripts', 'systemd-root.sh'), ...(variant ? [variant] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** Copies a root (the template, or another container's) to `dir`; returns `dir`. */
export function copyRoot(from: string, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  execFileSync('cp', ['-a', '--reflink=auto', from, dir]);
  return dir;
}

export interface BootOptions {
  /** The container's root directory (a copy: the container writes to it). */
  root: string;
  /** The machine name (hostname inside). */
  name: string;
  /** Host paths bound into the container: `host:container`, read-write, or `{ ro: true }`. */
  binds?: { host: string; container?: string; ro?: boolean }[];
  /** Run the container in this network namespace (`ip netns add NAME`): its interfaces are the container's. */
  netns?: string;
  /** The container's console goes here (its boot messages and, when it stops, its shutdown). */
  consoleLog: string;
}

/** A Debian 12 booted with systemd as PID 1 in a systemd-nspawn container on this machine. */
export class NspawnContainer {
  private constructor(
    readonly options: BootOptions,
    private readonly nspawn: ChildProcess,
    private readonly exited: Promise<number | null>,
  ) {}

  /** Boots the container and waits until systemd reports the system running (or degraded). */
  static async boot(options: BootOptions, timeoutMs = 90_000): Promise<NspawnContainer> {
    const args = ['-D', options.root, '-b', '--register=no', '--keep-unit', '-M', options.name, '--console=pipe'];
    // Devices QEMU needs inside (tap devices, KVM where the host has it).
    for (const dev of ['/dev/net/tun', '/dev/kvm', '/dev/vhost-net']) if (existsSync(dev)) args.push(`--bind=${dev}`);
    for (const b of options.binds ?? []) args.push(`${b.ro ? '--bind-ro' : '--bind'}=${b.host}:${b.container ?? b.host}`);
    if (options.netns) args.push(`--network-namespace-path=/run/netns/${options.netns}`);
    const log = createWriteStream(options.consoleLog, { flags: 'a' });
    const child = spawn('systemd-nspawn', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const c = new NspawnContainer(options, child, exited);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited (${child.exitCode}) while booting ${options.name}: see ${options.consoleLog}`);
      const state = c.leaderPid() === undefined ? '' : c.run(['systemctl', 'is-system-running'], { check: false }).stdout.trim();
      if (state === 'running' || state === 'degraded') return c;
      if (Date.now() > deadline) {
        await c.kill();
        throw new Error(`${options.name} did not finish booting in ${timeoutMs} ms (state '${state}'): see ${options.consoleLog}`);
      }
      await sleep(250);
    }
  }

  /** The container's PID 1 (systemd), as this machine's pid. */
  leaderPid(): number | undefined {
    const pid = this.nspawn.pid;
    if (pid === undefined) return undefined;
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return children.find((c) => readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'systemd');
    } catch {
      return undefined;
    }
  }

  /** Runs a command inside the container (all its namespaces, its root); throws on a non-zero exit unless `check: false`. */
  run(cmd: string[], o: { check?: boolean; input?: string; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
    const leader = this.leaderPid();
    if (leader === undefined) throw new Error(`${this.options.name} is not running`);
    const r = spawnSync('nsenter', ['-t', String(leader), '-a', '--', ...cmd], {
      encoding: 'utf8',
      input: o.input,
      timeout: o.timeoutMs ?? 120_000,
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/root', TERM: 'dumb' },
    });
    const status = r.status ?? -1;
    if ((o.check ?? true) && status !== 0) {
      throw new Error(`in ${this.options.name}: ${cmd.join(' ')} exited ${status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}${r.stderr}`);
    }
    return { status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Shell text run with `sh -c` inside the container (a background job must not keep stdout open: redirect it). */
  sh(script: string, o: { check?: boolean; timeoutMs?: number } = {}): string {
    return this.run(['sh', '-c', script], o).stdout;
  }

  /** Resolves when the container has stopped (its systemd powered off or it was killed). */
  async stopped(timeoutMs = 120_000): Promise<number | null> {
    const timer = sleep(timeoutMs).then(() => {
      throw new Error(`${this.options.name} did not stop in ${timeoutMs} ms`);
    });
    return Promise.race([this.exited, timer]);
  }

  /** `systemctl poweroff` inside, and waits for the container to stop: its units stop in order, as on a real host. */
  async poweroff(timeoutMs = 120_000): Promise<void> {
    if (this.nspawn.exitCode !== null) return;
    this.run(['systemctl', 'poweroff', '--no-block'], { check: false });
    await this.stopped(timeoutMs);
  }

  /**
   * Stops the container at once, as a power cut: SIGKILL to its PID 1 ends every process in its pid
   * namespace (killing systemd-nspawn alone would leave the container running, reparented).
   */
  async kill(): Promise<void> {
    if (this.nspawn.exitCode !== null || this.nspawn.signalCode !== null) return;
    const leader = this.leaderPid();
    if (leader !== undefined) process.kill(leader, 'SIGKILL');
    else this.nspawn.kill('SIGKILL');
    await this.exited;
  }
}

/** Pids of processes of this machine whose command line contains `needle` (a container's QEMU, seen from outside). */
export function hostPidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}
