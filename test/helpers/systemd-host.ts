import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { testGuest } from './guest.js';
import { installFerry, type InstallOptions } from './install-ferry.js';
import { NspawnContainer } from './nspawn.js';
import { untilPasses } from './processes.js';

/**
 * One host for the systemd tests: a copy of the QEMU root with ferry installed, booted under
 * systemd-nspawn (optionally in a network namespace), driven with systemctl and the ferry CLI inside.
 * `hosts` names other containers for /etc/hosts (ferry's pre-flight resolves the destination's name).
 */
export class SystemdHost {
  container: NspawnContainer | undefined;

  constructor(
    readonly name: string,
    readonly root: string,
    readonly netns?: string,
    readonly hosts: Record<string, string> = {},
  ) {}

  /**
   * Mounts the template under an overlay at `root` (the container's writes go to `root`.upper: instant,
   * where a copy of the 300 MB root takes 5-10 s), installs ferry, boots.
   */
  async boot(template: string, install: InstallOptions): Promise<this> {
    for (const d of [this.root, `${this.root}.upper`, `${this.root}.work`]) mkdirSync(d, { recursive: true });
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${template},upperdir=${this.root}.upper,workdir=${this.root}.work`, this.root]);
    writeFileSync(join(this.root, 'etc/hostname'), `${this.name}\n`);
    const hosts = Object.entries(this.hosts)
      .map(([n, addr]) => `${addr}\t${n}\n`)
      .join('');
    writeFileSync(join(this.root, 'etc/hosts'), `127.0.0.1\tlocalhost\n${hosts}`);
    const binds = installFerry(this.root, install);
    // The test guest (kernel and initrd), read-only at the path the domain XML names.
    const guestDir = dirname(testGuest().kernel);
    binds.push({ host: guestDir, container: guestDir, ro: true });
    this.container = await NspawnContainer.boot({
      root: this.root,
      name: this.name,
      binds,
      consoleLog: `${this.root}.console.log`,
      ...(this.netns ? { netns: this.netns } : {}),
    });
    return this;
  }

  /** Kills the container (a power cut, when it still runs) and unmounts its root. */
  async destroy(): Promise<void> {
    await this.container?.kill();
    spawnSync('umount', [this.root]);
  }

  get c(): NspawnContainer {
    if (!this.container) throw new Error(`${this.name} is not booted`);
    return this.container;
  }

  /** The ferry CLI inside (the system socket); throws on failure. */
  ferry(...args: string[]): string {
    return this.c.run(['ferry', ...args]).stdout;
  }

  /** `systemctl show` properties of a unit, as an object. */
  show(unit: string, ...props: string[]): Record<string, string> {
    const out = this.c.run(['systemctl', 'show', unit, ...props.map((p) => `-p${p}`)]).stdout;
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /** Waits until ferryd is active and answers the CLI. */
  async ferrydServing(timeoutMs = 60_000): Promise<void> {
    await untilPasses(
      `ferryd serving in ${this.name}`,
      async () => {
        const s = this.show('ferryd.service', 'ActiveState').ActiveState;
        if (s !== 'active') throw new Error(`ferryd is ${s}`);
        this.ferry('list', '--all');
      },
      timeoutMs,
    );
  }

  /** Pids (inside the container) of the QEMU processes running there. */
  qemuPids(): number[] {
    const out = this.c.run(['pidof', 'qemu-system-x86_64'], { check: false }).stdout;
    return out.trim().split(/\s+/).filter(Boolean).map(Number);
  }

  /** The one QEMU process; fails when there is not exactly one. */
  qemuPid(): number {
    const pids = this.qemuPids();
    if (pids.length !== 1) throw new Error(`${this.name}: ${pids.length} QEMU processes (${pids.join(' ')})`);
    return pids[0] as number;
  }

  /** The cgroup of a process inside the container (its cgroup v2 path, as /proc/PID/cgroup has it). */
  cgroupOf(pid: number): string {
    const text = this.c.sh(`cat /proc/${pid}/cgroup`);
    const line = text.split('\n').find((l) => l.startsWith('0::'));
    if (!line) throw new Error(`no cgroup v2 line for ${pid}: ${text}`);
    return line.slice(3).trim();
  }

  alive(pid: number): boolean {
    return this.c.run(['sh', '-c', `kill -0 ${pid}`], { check: false }).status === 0; // the shell's kill: minbase has no procps
  }

  /** A file of the container's root, read from this machine ('' when absent): works after it powered off too. */
  file(path: string): string {
    const p = join(this.root, path);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  serial(domain: string): string {
    return this.file(`/var/lib/ferry/log/${domain}-serial0.log`);
  }

  /** The container's persistent journal, read from this machine (after it powered off). */
  journal(...args: string[]): string {
    const base = join(this.root, 'var/log/journal');
    const dirs = existsSync(base) ? readdirSync(base).map((d) => join(base, d)) : [];
    if (dirs.length === 0) return '';
    return execFileSync('journalctl', ['--no-pager', '-o', 'short-monotonic', '-D', dirs[0] as string, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  }
}

/** Two network namespaces joined by one veth pair (`a` gets addrA, `b` addrB, a /24). */
export function linkedNamespaces(a: string, b: string, addrA: string, addrB: string): { destroy: () => void } {
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
  const destroy = (): void => {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // absent
      }
    }
  };
  destroy();
  ip('netns', 'add', a);
  ip('netns', 'add', b);
  ip('link', 'add', `${a}-v`, 'netns', a, 'type', 'veth', 'peer', 'name', `${b}-v`, 'netns', b);
  for (const [ns, addr] of [
    [a, addrA],
    [b, addrB],
  ] as const) {
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', `${ns}-v`);
    ip('-n', ns, 'link', 'set', `${ns}-v`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  return { destroy };
}
