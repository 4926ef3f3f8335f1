import { join } from 'node:path';

/**
 * The lab's layout, computed from its options alone (no side effects): which
 * namespaces, links, addresses and files make up N hosts that look like the
 * seed's — a management/migration network, a separate migration network, and
 * a VM network on a bridge br1 in every host, all joined through a "switch".
 *
 *             switch namespace (PREFIX-sw)
 *   bridge mgmt   10.X.1.1/24  ── hN-mgmt ⇄ eth0  10.X.1.(10+N)  management, peer API, ssh
 *   bridge mignet              ── hN-mig  ⇄ eth1  10.X.2.(10+N)  migration data (migration_address)
 *   bridge vmlan  10.X.3.1/24  ── hN-vm   ⇄ uplink ─ br1 (no address)  VM traffic
 *
 * VMs get 10.X.3.100 and up; the switch side pings them on vmlan. Host names
 * (h1, h2, ...) resolve through a DNS server on the switch (10.X.1.1).
 *
 * Each host also has its own mount namespace in which /run/ferry, /etc/ferry,
 * /etc/pki/ferry and /root/.ssh are its own directories: inside a host,
 * `ferry list`, `ssh h2` and `ferry migrate ... qemu+ssh://h2/system` work
 * with the default paths, exactly as on the seed's machines.
 */
export interface LabOptions {
  hosts: number;
  /** Where state, logs, shared storage and certificates go. */
  dir: string;
  /** Namespace names start with it (default "flab"). */
  prefix?: string;
  /** The second octet of the lab's 10.X.0.0/16 (default 231). */
  subnet?: number;
  /** tc rate for the management and migration links, e.g. "1gbit" (default: not shaped). */
  rate?: string;
}

export interface LabHostPlan {
  index: number;
  /** The host's name, as DNS answers for it. */
  name: string;
  ns: string;
  mgmtAddress: string;
  migrationAddress: string;
  /** Links on the switch side. */
  switchLinks: { mgmt: string; migration: string; vm: string };
  dir: string;
  stateDir: string;
  /** Bind-mounted over /run/ferry inside the host: its ferryd.sock is /run/ferry/ferryd.sock there. */
  runDir: string;
  /** ferryd's socket as seen from outside the host. */
  socket: string;
  /** Bind-mounted over /etc/ferry inside the host (ferryd.conf). */
  etcDir: string;
  /** ferryd.conf, as seen from outside. */
  config: string;
  /** Bind-mounted over /root/.ssh inside the host (its key pair, authorized_keys, known_hosts). */
  sshDir: string;
  log: string;
  pidfile: string;
  /** Bind-mounted over /etc/pki/ferry inside the host (ferryd's default tls_dir). */
  tlsDir: string;
}

export interface LabPlan {
  prefix: string;
  dir: string;
  subnet: number;
  rate: string | undefined;
  switchNs: string;
  switchMgmtAddress: string;
  switchVmAddress: string;
  /** /24 prefix length of every lab network. */
  prefixLength: 24;
  hosts: LabHostPlan[];
  sharedDir: string;
  lockspaceDir: string;
  pkiDir: string;
  stateFile: string;
}

export const LAB_BRIDGE = 'br1';
export const PEER_PORT = 16520;

export function planLab(o: LabOptions): LabPlan {
  const prefix = o.prefix ?? 'flab';
  if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) throw new Error(`lab prefix '${prefix}' must be 1-8 lower-case letters and digits, starting with a letter`);
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > 9) throw new Error(`a lab has 1 to 9 hosts, not ${o.hosts}`);
  const subnet = o.subnet ?? 231;
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new Error(`subnet must be 0-255, not ${subnet}`);
  const net = (n: number, host: number): string => `10.${subnet}.${n}.${host}`;
  const hosts: LabHostPlan[] = [];
  for (let i = 1; i <= o.hosts; i++) {
    const dir = join(o.dir, `h${i}`);
    hosts.push({
      index: i,
      name: `h${i}`,
      ns: `${prefix}-h${i}`,
      mgmtAddress: net(1, 10 + i),
      migrationAddress: net(2, 10 + i),
      switchLinks: { mgmt: `h${i}-mgmt`, migration: `h${i}-mig`, vm: `h${i}-vm` },
      dir,
      stateDir: join(dir, 'state'),
      runDir: join(dir, 'run'),
      socket: join(dir, 'run', 'ferryd.sock'),
      etcDir: join(dir, 'etc-ferry'),
      config: join(dir, 'etc-ferry', 'ferryd.conf'),
      sshDir: join(dir, 'root-ssh'),
      log: join(dir, 'ferryd.log'),
      pidfile: join(dir, 'ferryd.pid'),
      tlsDir: join(dir, 'pki'),
    });
  }
  return {
    prefix,
    dir: o.dir,
    subnet,
    rate: o.rate,
    switchNs: `${prefix}-sw`,
    switchMgmtAddress: net(1, 1),
    switchVmAddress: net(3, 1),
    prefixLength: 24,
    hosts,
    sharedDir: join(o.dir, 'shared'),
    lockspaceDir: join(o.dir, 'lockspace'),
    pkiDir: join(o.dir, 'pki'),
    stateFile: join(o.dir, 'lab.json'),
  };
}

/** The address of the k-th VM (k from 0) on the VM network. */
export function vmAddress(plan: LabPlan, k: number): string {
  return `10.${plan.subnet}.3.${100 + k}`;
}
