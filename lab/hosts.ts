import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LabHostPlan, LabPlan } from './plan.js';
import { PEER_PORT } from './plan.js';

/** ferryd's entry point in this checkout. */
const FERRYD = fileURLToPath(new URL('../../bin/ferryd', import.meta.url));

/** The directories a host sees as its own: bind-mounted over the system paths inside its mount namespace. */
export function hostMounts(host: LabHostPlan): Array<[string, string]> {
  return [
    [host.runDir, '/run/ferry'],
    [host.etcDir, '/etc/ferry'],
    [host.tlsDir, '/etc/pki/ferry'],
    [host.sshDir, '/root/.ssh'],
  ];
}

/** How other hosts reach this one's ferryd (the peer API): mutual TLS on its management address, or its socket. */
export function peerUriOf(host: LabHostPlan, tls: boolean): string {
  return tls ? `ferry+tls://${host.name}/system` : `ferry:///system?socket=${host.socket}`;
}

/** ferryd.conf for one lab host (at /etc/ferry/ferryd.conf inside it): its state, the shared lockspace, the migration network, the other hosts as peers. */
export function hostConfig(plan: LabPlan, host: LabHostPlan, o: { tls: boolean; extra?: string }): string {
  const peers = plan.hosts.filter((h) => h !== host).map((h) => `"${peerUriOf(h, o.tls)}"`);
  const lines = [
    `# ferry lab ${plan.prefix}: host ${host.name} (network namespace ${host.ns})`,
    `state_dir = "${host.stateDir}"`,
    `hostname = "${host.name}"`,
    '# Migration data arrives on the migration network only (eth1), never on br1 or the management network.',
    `migration_address = "${host.migrationAddress}"`,
    `file_lockspace_dir = "${plan.lockspaceDir}"`,
    `peers = [ ${peers.join(', ')} ]`,
  ];
  if (o.tls) lines.push(`listen = "${host.mgmtAddress}:${PEER_PORT}"`);
  if (o.extra) lines.push(o.extra);
  return `${lines.join('\n')}\n`;
}

/**
 * The process that holds a host's namespaces: it enters the host's network
 * namespace, takes a host name (UTS namespace) and a mount namespace of its own with the host's directories
 * bound over /run/ferry, /etc/ferry, /etc/pki/ferry and /root/.ssh, and
 * sleeps. ferryd, sshd and commands "on the host" join it with nsenter.
 */
export async function startHolder(host: LabHostPlan): Promise<number> {
  const mounts = hostMounts(host);
  for (const [from] of mounts) mkdirSync(from, { recursive: true, mode: 0o700 });
  const script = [
    'set -e',
    `hostname ${host.name}`,
    ...mounts.map(([from, to]) => `mkdir -p ${to} && mount --bind ${from} ${to}`),
    'echo ready',
    'exec sleep infinity',
  ].join('\n');
  const child = spawn('ip', ['netns', 'exec', host.ns, 'unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c', script], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the namespace holder of ${host.name} exited (${code}): ${err}`)));
  });
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  return child.pid as number;
}

/** The argv that runs a command inside a host (its network and mount namespaces). */
export function onHostArgv(holderPid: number, cmd: string, ...args: string[]): [string, string[]] {
  return ['nsenter', ['--target', String(holderPid), '--mount', '--net', '--uts', '--', cmd, ...args]];
}

/** Starts a detached process inside a host, its output appended to `log`. */
export function spawnOnHost(holderPid: number, log: string, cmd: string, ...args: string[]): ChildProcess {
  const fd = openSync(log, 'a');
  const [c, a] = onHostArgv(holderPid, cmd, ...args);
  const child = spawn(c, a, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  return child;
}

/** Starts a host's ferryd (default paths inside the host); resolves with its pid once its socket answers. */
export async function startFerryd(host: LabHostPlan, holderPid: number): Promise<number> {
  mkdirSync(host.stateDir, { recursive: true });
  const child = spawnOnHost(holderPid, host.log, process.execPath, FERRYD);
  const pid = child.pid as number;
  writeFileSync(host.pidfile, `${pid}\n`);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`ferryd on ${host.name} exited (${exited}); see ${host.log}`);
    if (existsSync(host.socket) && (await answers(host.socket))) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`ferryd on ${host.name} did not answer on ${host.socket} within 20 s; see ${host.log}`);
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socket });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
