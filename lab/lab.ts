import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startDns } from './dns.js';
import { hostConfig, onHostArgv, peerUriOf, startFerryd, startHolder } from './hosts.js';
import { buildNetwork, teardownNetwork } from './network.js';
import { type LabHostPlan, type LabOptions, type LabPlan, planLab } from './plan.js';
import { issueLabCertificates, labClientPkiDir } from './pki.js';
import { execIn, run } from './run.js';
import { labSshQuery, startSshd, waitSshd } from './ssh.js';

export interface LabUpOptions extends LabOptions {
  /** A cluster CA and host certificates, each ferryd listening for mutual TLS on its management address, peers reached by ferry+tls:// (default true). */
  tls?: boolean;
  /** sshd in every host, root logging in with the lab's key (default true). */
  ssh?: boolean;
  /** Extra ferryd.conf lines for every host. */
  extraConfig?: string;
  /** Called before the ferryds start (e.g. to issue certificates into each host's tlsDir). */
  beforeStart?: (plan: LabPlan) => Promise<void> | void;
}

interface LabState {
  options: LabUpOptions;
  pids: Record<string, number>;
}

/**
 * N hosts on this machine that look like the seed's: each a network
 * namespace with its own ferryd (and ferry-lockd), a management network, a
 * migration network and a VM bridge br1, joined through a switch namespace
 * that also runs DNS; storage and the lockspace are shared directories.
 * `Lab.up()` builds it, `down()` removes every trace.
 */
export class Lab {
  private constructor(
    readonly plan: LabPlan,
    readonly options: LabUpOptions,
    private readonly pids: Record<string, number>,
  ) {}

  static async up(options: LabUpOptions): Promise<Lab> {
    const plan = planLab(options);
    if (existsSync(plan.stateFile)) await Lab.attach(plan.dir).then((old) => old.down({ keepDir: false }));
    teardownNetwork(plan);
    rmSync(plan.dir, { recursive: true, force: true });
    for (const d of [plan.dir, plan.sharedDir, plan.lockspaceDir, ...plan.hosts.flatMap((h) => [h.dir, h.etcDir, h.runDir])]) mkdirSync(d, { recursive: true });
    const pids: Record<string, number> = {};
    const lab = new Lab(plan, options, pids);
    try {
      buildNetwork(plan);
      pids.dns = startDns(plan);
      const tls = options.tls ?? true;
      if (tls) await issueLabCertificates(plan);
      for (const host of plan.hosts)
        writeFileSync(host.config, hostConfig(plan, host, { tls, ...(options.extraConfig ? { extra: options.extraConfig } : {}) }));
      const holders = await Promise.all(plan.hosts.map((h) => startHolder(h)));
      plan.hosts.forEach((h, i) => (pids[`holder-${h.name}`] = holders[i] as number));
      if (options.ssh ?? true) {
        startSshd(plan, lab.holders()).forEach((pid, i) => (pids[`sshd-${i + 1}`] = pid));
        await waitSshd(plan);
      }
      await options.beforeStart?.(plan);
      const started = await Promise.all(plan.hosts.map((h) => startFerryd(h, pids[`holder-${h.name}`] as number)));
      plan.hosts.forEach((h, i) => (pids[h.name] = started[i] as number));
      lab.save();
      return lab;
    } catch (err) {
      await lab.down({ keepDir: true });
      throw err;
    }
  }

  /** A lab that `up` left running (possibly from another process), from its state file. */
  static async attach(dir: string): Promise<Lab> {
    const state = JSON.parse(readFileSync(`${dir}/lab.json`, 'utf8')) as LabState;
    return new Lab(planLab(state.options), state.options, state.pids);
  }

  host(nameOrIndex: string | number): LabHostPlan {
    const h = typeof nameOrIndex === 'number' ? this.plan.hosts[nameOrIndex - 1] : this.plan.hosts.find((x) => x.name === nameOrIndex);
    if (!h) throw new Error(`the lab has no host ${nameOrIndex}`);
    return h;
  }

  /** The connection URI for a host's ferryd from this machine (its unix socket; unix sockets cross namespaces). */
  localUri(host: LabHostPlan): string {
    return `ferry:///system?socket=${host.socket}`;
  }

  /** The URI other hosts use to reach this one (a migration's DESTURI). */
  peerUri(host: LabHostPlan): string {
    return peerUriOf(host, this.options.tls ?? true);
  }

  /** A ferry+tls:// URI for a host with one of the lab's operator certificates. */
  tlsUri(host: LabHostPlan, who: 'admin' | 'readonly' = 'admin'): string {
    return `ferry+tls://${host.name}/system?pkipath=${labClientPkiDir(this.plan, who)}`;
  }

  /** A ferry+ssh:// URI for a host from outside the hosts (the switch), as root with the operator's key. Inside a host plain qemu+ssh://hN/system works. */
  sshUri(host: LabHostPlan, scheme: 'ferry+ssh' | 'qemu+ssh' = 'ferry+ssh'): string {
    return `${scheme}://root@${host.name}/system?${labSshQuery(this.plan)}`;
  }

  /** The pid holding each host's namespaces, by host name. */
  holders(): Record<string, number> {
    return Object.fromEntries(this.plan.hosts.map((h) => [h.name, this.pids[`holder-${h.name}`] as number]));
  }

  /** The argv that runs a command on a host: in its network namespace, with its own /run/ferry, /etc/ferry, /etc/pki/ferry and /root/.ssh. */
  onHostArgv(host: LabHostPlan, cmd: string, ...args: string[]): [string, string[]] {
    return onHostArgv(this.pids[`holder-${host.name}`] as number, cmd, ...args);
  }

  /** Runs a command on a host and returns its output. */
  onHost(host: LabHostPlan, cmd: string, ...args: string[]): string {
    const [c, a] = this.onHostArgv(host, cmd, ...args);
    return run(c, a);
  }

  /** Runs a command in the switch namespace (the VM network's and the management network's far side). */
  onSwitch(cmd: string, ...args: string[]): string {
    return execIn(this.plan.switchNs, cmd, ...args);
  }

  /** Restarts one host's ferryd (same state); VMs keep running. */
  async restartFerryd(host: LabHostPlan): Promise<void> {
    const pid = this.pids[host.name];
    if (pid) await stopProcess(pid);
    this.pids[host.name] = await startFerryd(host, this.pids[`holder-${host.name}`] as number);
    this.save();
  }

  /** Stops everything the lab started (VMs included) and removes its namespaces; the directory goes too unless keepDir. */
  async down(o: { keepDir?: boolean } = {}): Promise<void> {
    teardownNetwork(this.plan);
    await Promise.all(Object.values(this.pids).map((pid) => stopProcess(pid)));
    if (!o.keepDir) rmSync(this.plan.dir, { recursive: true, force: true });
    else rmSync(this.plan.stateFile, { force: true });
  }

  private save(): void {
    const state: LabState = { options: { ...this.options, beforeStart: undefined } as LabUpOptions, pids: this.pids };
    writeFileSync(this.plan.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
async function stopProcess(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 3000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
