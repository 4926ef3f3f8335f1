import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnOnHost } from './hosts.js';
import type { LabPlan } from './plan.js';
import { run } from './run.js';

export const SSHD = '/usr/sbin/sshd';

/** An operator's ssh material outside the hosts: a key every host accepts for root, and the hosts' keys. */
export function labSshFiles(plan: LabPlan): { key: string; knownHosts: string } {
  const dir = join(plan.dir, 'ssh');
  return { key: join(dir, 'id_ed25519'), knownHosts: join(dir, 'known_hosts') };
}

/** The query string that makes a ferry+ssh:// URI from outside the hosts use the operator's key and known hosts. */
export function labSshQuery(plan: LabPlan, socket?: string): string {
  const f = labSshFiles(plan);
  return `${socket ? `socket=${socket}&` : ''}keyfile=${f.key}&known_hosts=${f.knownHosts}`;
}

const keygen = (file: string, comment: string): void => {
  if (!existsSync(file)) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
};
const publicKey = (file: string): string => readFileSync(`${file}.pub`, 'utf8').trim();

/**
 * The seed's passwordless ssh between hosts ("ssh-keygen; ssh-copy-id
 * root@PacktPhy02" on each): every host gets a key pair in its /root/.ssh,
 * each host's key is in every other host's authorized_keys, known_hosts lists
 * every host, and a real sshd runs in each host on its management address
 * (root with keys only, no passwords).
 */
export function startSshd(plan: LabPlan, holders: Record<string, number>): number[] {
  const op = labSshFiles(plan);
  mkdirSync(join(plan.dir, 'ssh'), { recursive: true, mode: 0o700 });
  keygen(op.key, `operator@ferry-lab-${plan.prefix}`);
  // sshd's privilege separation directory (systemd makes it at boot).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKeys = plan.hosts.map((h) => {
    const dir = join(h.dir, 'sshd');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(h.sshDir, { recursive: true, mode: 0o700 });
    keygen(join(h.sshDir, 'id_ed25519'), `root@${h.name}`);
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    keygen(hostKey, h.name);
    return { h, dir, hostKey };
  });
  const known =
    hostKeys.map(({ h, hostKey }) => `${h.name},${h.name}.lab,${h.mgmtAddress} ${publicKey(hostKey).split(' ').slice(0, 2).join(' ')}`).join('\n') + '\n';
  const authorized = [publicKey(op.key), ...plan.hosts.map((h) => publicKey(join(h.sshDir, 'id_ed25519')))].join('\n') + '\n';
  writeFileSync(op.knownHosts, known);
  const pids: number[] = [];
  for (const { h, dir, hostKey } of hostKeys) {
    writeFileSync(join(h.sshDir, 'known_hosts'), known);
    writeFileSync(join(h.sshDir, 'authorized_keys'), authorized, { mode: 0o600 });
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `ListenAddress ${h.mgmtAddress}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'AllowStreamLocalForwarding yes',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    pids.push(spawnOnHost(holders[h.name] as number, join(dir, 'sshd.log'), SSHD, '-D', '-e', '-f', config).pid as number);
  }
  return pids;
}

/** Resolves once every host's sshd has written its pid file (it does so after binding its address). */
export async function waitSshd(plan: LabPlan, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const h of plan.hosts) {
    const pidfile = join(h.dir, 'sshd', 'sshd.pid');
    while (!existsSync(pidfile)) {
      if (Date.now() > deadline) throw new Error(`sshd on ${h.name} did not start; see ${join(h.dir, 'sshd', 'sshd.log')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
