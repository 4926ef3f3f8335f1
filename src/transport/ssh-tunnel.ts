import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setprivCommand } from '../system/setpriv.js';
import { FerryError } from '../errors/ferry-error.js';

export interface SshTunnelOptions {
  host: string;
  port?: number;
  user?: string;
  /** A private key to offer (ssh -i), alone. */
  keyFile?: string;
  knownHosts?: string;
  /** Accept any host key (libvirt's no_verify=1): for labs only. */
  noVerify?: boolean;
  /** The daemon's socket on the remote host. */
  remoteSocket: string;
  /** The ssh client to run (default: ssh, or $FERRY_SSH). */
  sshBinary?: string;
  timeoutMs?: number;
}

/**
 * The ssh transport, as libvirt's qemu+ssh: the system ssh client (so
 * ~/.ssh/config, agents and known_hosts work as for any ssh) forwards a local
 * unix socket to ferryd's socket on the remote host (OpenSSH's streamlocal
 * forwarding: nothing but sshd is needed there). The remote end applies its
 * own socket permissions to the ssh user, as it would to a local user.
 */
export class SshTunnel {
  private closed = false;

  private constructor(
    readonly localSocket: string,
    private readonly dir: string,
    private readonly child: ChildProcess,
    readonly describe: string,
  ) {}

  static async open(o: SshTunnelOptions): Promise<SshTunnel> {
    const dir = mkdtempSync(join(os.tmpdir(), 'ferry-ssh-'));
    const local = join(dir, 'ferryd.sock');
    const args = sshArgs(o, local);
    const describe = `${o.user ? `${o.user}@` : ''}${o.host}${o.port ? `:${o.port}` : ''}`;
    // The tunnel dies with its owner (the CLI, or ferryd when it carries a migration), even one killed by SIGKILL.
    const cmd = setprivCommand(o.sshBinary ?? process.env.FERRY_SSH ?? 'ssh', args, { dieWithParent: true });
    const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const onExit = (): void => {
      child.kill('SIGTERM');
    };
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    const tunnel = new SshTunnel(local, dir, child, describe);
    const deadline = Date.now() + (o.timeoutMs ?? 15_000);
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    while (!existsSync(local)) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        tunnel.close();
        const reason = spawnError
          ? spawnError.message
          : child.exitCode !== null
            ? lastLine(stderr) || `ssh exited with status ${child.exitCode}`
            : `no connection within ${o.timeoutMs ?? 15_000} ms`;
        throw new FerryError('CONNECT_FAILED', `Cannot connect to ${describe} with ssh: ${reason}`, {
          hint: /Permission denied|publickey/i.test(reason)
            ? `Set up passwordless ssh for this user (ssh-keygen; ssh-copy-id ${o.user ?? 'root'}@${o.host}), or name a key with ?keyfile=`
            : /Host key verification failed/i.test(reason)
              ? `Add ${o.host}'s host key to known_hosts (ssh ${o.host} once, or ?known_hosts=FILE)`
              : `Check that sshd runs on ${o.host} and that "ssh ${describe}" works without a password`,
          details: { host: o.host },
        });
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    return tunnel;
  }

  get alive(): boolean {
    return !this.closed && this.child.exitCode === null && this.child.signalCode === null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The ssh command line: batch mode (never a password prompt), the forward, and the URI's options. */
export function sshArgs(o: SshTunnelOptions, localSocket: string): string[] {
  const args = [
    '-N',
    '-T',
    '-o',
    'BatchMode=yes',
    '-o',
    'ExitOnForwardFailure=yes',
    '-o',
    'StreamLocalBindUnlink=yes',
    '-o',
    `ConnectTimeout=${Math.ceil((o.timeoutMs ?? 15_000) / 1000)}`,
    '-o',
    'ServerAliveInterval=15',
    '-L',
    `${localSocket}:${o.remoteSocket}`,
  ];
  if (o.port) args.push('-p', String(o.port));
  if (o.user) args.push('-l', o.user);
  if (o.keyFile) args.push('-i', o.keyFile, '-o', 'IdentitiesOnly=yes');
  if (o.noVerify) args.push('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR');
  else if (o.knownHosts) args.push('-o', `UserKnownHostsFile=${o.knownHosts}`, '-o', 'StrictHostKeyChecking=yes');
  args.push('--', o.host);
  return args;
}

function lastLine(text: string): string {
  const line =
    text
      .trim()
      .split('\n')
      .filter((l) => !/^Warning: Permanently added/.test(l))
      .pop()
      ?.trim() ?? '';
  return line.replace(/^setpriv: failed to execute /, 'cannot run ');
}
