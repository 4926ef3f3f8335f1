import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import type { CliResult } from '../test/helpers/ferryd.js';
import { eventually } from '../test/helpers/processes.js';

export interface LibvirtHostOptions {
  /** The host name the daemon sees (its own UTS namespace): libvirt refuses to migrate to a host with its own name. */
  name: string;
  /** Everything of this host lives here: run/, lib/, etc/, log/, cache/ are bound over libvirt's system paths. */
  dir: string;
  /** A network namespace to run in (a lab host's); none: this machine's. */
  netns?: string;
}

/** The system paths a libvirt host has to itself, and the directory under `dir` bound over each. */
const PRIVATE_PATHS: Array<[string, string]> = [
  ['run', '/run/libvirt'],
  ['lib', '/var/lib/libvirt'],
  ['etc', '/etc/libvirt'],
  ['log', '/var/log/libvirt'],
  ['cache', '/var/cache/libvirt'],
];

/**
 * A real libvirtd (Debian's, from bookworm-backports: scripts/setup-libvirt-bench.sh) as one
 * "host" on this machine: its own mount namespace with private /run/libvirt, /var/lib/libvirt,
 * /etc/libvirt, /var/log/libvirt and /var/cache/libvirt, its own host name (UTS namespace) and
 * host_uuid, so that two of them migrate to each other as two hosts would. QEMU runs as root
 * with no security driver, no cgroups and no per-VM namespace (qemu.conf below): the simplest
 * setup that runs on a machine without systemd. virsh reaches it on its unix socket.
 */
export class LibvirtHost {
  readonly uri: string;
  private child: ChildProcess | undefined;

  constructor(private readonly o: LibvirtHostOptions) {
    this.uri = `qemu+unix:///system?socket=${o.dir}/run/libvirt-sock`;
  }

  /** A path inside the host's /var/log/libvirt, as seen from outside. */
  logPath(file: string): string {
    return `${this.o.dir}/log/${file}`;
  }

  async start(): Promise<this> {
    for (const [sub] of PRIVATE_PATHS) mkdirSync(`${this.o.dir}/${sub}`, { recursive: true, mode: 0o700 });
    writeFileSync(
      `${this.o.dir}/etc/libvirtd.conf`,
      [
        `host_uuid = "${randomUUID()}"`,
        'auth_unix_rw = "none"',
        'unix_sock_rw_perms = "0700"',
        'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
        '',
      ].join('\n'),
    );
    writeFileSync(
      `${this.o.dir}/etc/qemu.conf`,
      [
        'user = "root"',
        'group = "root"',
        'security_driver = "none"',
        'dynamic_ownership = 0',
        'remember_owner = 0',
        'namespaces = [ ]',
        'cgroup_controllers = [ ]',
        'stdio_handler = "file"',
        '',
      ].join('\n'),
    );
    const script = [
      'set -e',
      `hostname ${this.o.name}`,
      ...PRIVATE_PATHS.map(([sub, to]) => `mkdir -p ${to} && mount --bind ${this.o.dir}/${sub} ${to}`),
      'exec libvirtd --pid-file /run/libvirt/libvirtd.pid',
    ].join('\n');
    const argv = ['unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c', script];
    const [cmd, args] = this.o.netns ? ['ip', ['netns', 'exec', this.o.netns, ...argv]] : [argv[0] as string, argv.slice(1)];
    const out = openSync(`${this.o.dir}/libvirtd.out`, 'a');
    this.child = spawn(cmd, args, { stdio: ['ignore', out, out] });
    await eventually(async () => (await this.virsh('version')).code === 0, `libvirtd ${this.o.name} answering on ${this.uri}`, 60_000);
    return this;
  }

  /** `virsh -c URI ARGS`. */
  virsh(...args: string[]): Promise<CliResult> {
    return this.virshUntil(undefined, ...args);
  }

  /** `virsh -c URI ARGS`, killed when `signal` fires (a `virsh event` that waits for what may not come). */
  virshUntil(signal: AbortSignal | undefined, ...args: string[]): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn('virsh', ['-c', this.uri, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
      child.on('error', () => undefined);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  /** Like virsh(), failing with virsh's error when it does not succeed. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.virsh(...args);
    if (r.code !== 0) throw new Error(`virsh ${args.join(' ')} on ${this.o.name} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Destroys its domains, then stops the daemon. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const names = (await this.virsh('list', '--name')).stdout.split('\n').filter(Boolean);
    for (const n of names) await this.virsh('destroy', n);
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
