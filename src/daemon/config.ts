import { existsSync, readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import type { AccelSetting } from '../host/qemu-capabilities.js';
import { type ConfValue, parseConfFile } from './config-file.js';

/** ferryd's settings: defaults ← ferryd.conf ← command line. docs/configuration.md lists them. */
export interface DaemonConfig {
  stateDir: string;
  socket: string;
  /** host:port of the TLS listener (ferry+tls://: the CLI from other machines, and the peer API); empty: none. */
  listen: string;
  /** host:port of a plain-TCP listener with no authentication at all (ferry+tcp://); empty: none (the default). */
  listenTcp: string;
  /** The read-only socket (virsh -r); default: ferryd-ro.sock beside the socket. */
  socketRo: string;
  /** The group that may use the read-write socket (libvirt's unix_sock_group); "" or an unknown group: root only. */
  unixSockGroup: string;
  unixSockRwPerms: number;
  unixSockRoPerms: number;
  /** Glob patterns over client certificate DNs allowed on the TLS listener (libvirt's tls_allowed_dn_list); empty: any the CA signed. */
  tlsAllowedDnList: string[];
  qemuBinary: string;
  /** The user QEMU runs as (qemu.conf's user); "root" runs it as root (not recommended). */
  user: string;
  /** QEMU's primary group (qemu.conf's group); empty: the user's own. */
  group: string;
  /** chown each file a domain's QEMU must open to its user (qemu.conf's dynamic_ownership). */
  dynamicOwnership: boolean;
  /** QEMU's seccomp sandbox: no fork/exec, no privilege changes (qemu.conf's seccomp_sandbox). */
  seccompSandbox: boolean;
  /** Connections at once on the read-write socket and on the TLS listener, each (libvirt's max_clients). */
  maxClients: number;
  /** TLS connections at once that have not finished their handshake (libvirt's max_anonymous_clients). */
  maxAnonymousClients: number;
  /** Connections at once on the read-only socket, which any local user may open. */
  maxReadonlyClients: number;
  accel: AccelSetting;
  logLevel: string;
  /** How long a job waits for another job on the same domain, in seconds. */
  jobWaitTimeout: number;
  /** Where VNC and SPICE displays that name no address listen (qemu.conf's vnc_listen, spice_listen). */
  vncListen: string;
  spiceListen: string;
  /** Where incoming migration streams are accepted (libvirt's migration_address). */
  migrationAddress: string;
  /** The host name or address sources send migration data to (libvirt's migration_host); empty: see docs/configuration.md. */
  migrationHost: string;
  migrationPortMin: number;
  migrationPortMax: number;
  /** "lockd" (ferry-lockd holds disk leases; the default) or "nop". */
  lockManager: 'lockd' | 'nop';
  /** ferry-lockd's socket; empty: ferry-lockd.sock beside ferryd's socket. */
  lockdSocket: string;
  lockdBackend: 'fcntl' | 'etcd';
  etcdEndpoints: string[];
  etcdPrefix: string;
  leaseTtl: number;
  autoDiskLeases: boolean;
  /** Default: the opposite of auto_disk_leases (libvirt's). */
  requireLeaseForDisks: boolean | undefined;
  fileLockspaceDir: string;
  lvmLockspaceDir: string;
  scsiLockspaceDir: string;
  /** Other ferryd hosts (URIs), asked by lock-clear whether they run the domain. */
  peers: string[];
  /** This host's name as other hosts should resolve it (default: the system host name). */
  hostname: string;
  /** DNS servers for the pre-flight name checks; empty: /etc/resolv.conf. */
  dnsServers: string[];
  /** The largest clock offset between hosts the pre-flight check accepts, in ms. */
  maxClockOffset: number;
  memoryOvercommit: number;
  cpuOvercommit: number;
  /**
   * This host's certificates (docs/security.md): ca-cert.pem, server-cert.pem,
   * server-key.pem, client-cert.pem, client-key.pem, the file names QEMU's
   * tls-creds-x509 expects, so the same directory serves the TLS listener, the
   * peer client and migrations with --tls.
   */
  tlsDir: string;
  /** Every migration is encrypted, as if --tls were given (libvirt's migrate_tls_force). */
  migrateTlsForce: boolean;
  /** SPICE displays may have a TLS port (qemu.conf's spice_tls); autoport ones get one. */
  spiceTls: boolean;
  /** The server certificates SPICE presents (qemu.conf's spice_tls_x509_cert_dir); empty: tlsDir. */
  spiceTlsX509CertDir: string;
  /** The client certificates of NBD disks with tls='yes' (qemu.conf's nbd_tls_x509_cert_dir); empty: tlsDir. */
  nbdTlsX509CertDir: string;
  /** Days the audit trail keeps a state-changing call (docs/audit.md); 0: forever. */
  auditRetentionDays: number;
  /** Days a finished migration stays in `ferry migrate-history`; 0: forever. */
  migrationHistoryRetentionDays: number;
  /** Rotate a domain's QEMU log and serial logs at this many bytes (virtlogd's max_size); 0: never. */
  logMaxSize: number;
  /** Rotated logs kept per file, NAME.1 ... NAME.n (virtlogd's max_backups). */
  logMaxBackups: number;
  /** Test-only: how often the logs' sizes are checked, in ms (default 5000). */
  testLogRotateIntervalMs: number;
  /** Test-only: pretend this host's clock is ahead by this many ms (to test the clock check). */
  testClockOffsetMs: number;
  /** Test-only: the KVM device the accelerator probe looks at (default /dev/kvm). */
  testKvmDevice: string;
  /** Test-only: how long the KVM probe's test guest may take, in ms (default 1500). */
  testKvmProbeTimeoutMs: number;
  /** Test-only: how long an incoming migration whose source stays silent is kept after a restart (default 10 minutes). */
  testMigrationOrphanTimeoutMs: number;
}

export const DEFAULT_CONFIG_PATH = '/etc/ferry/ferryd.conf';

export function defaultConfig(): DaemonConfig {
  return {
    stateDir: '/var/lib/ferry',
    socket: '/run/ferry/ferryd.sock',
    listen: '',
    listenTcp: '',
    socketRo: '',
    unixSockGroup: 'ferry',
    unixSockRwPerms: 0o660,
    unixSockRoPerms: 0o666,
    tlsAllowedDnList: [],
    qemuBinary: '/usr/bin/qemu-system-x86_64',
    user: 'ferry-qemu',
    group: '',
    dynamicOwnership: true,
    seccompSandbox: true,
    maxClients: 5000,
    maxAnonymousClients: 20,
    maxReadonlyClients: 100,
    accel: 'auto',
    logLevel: 'info',
    jobWaitTimeout: 30,
    vncListen: '127.0.0.1',
    spiceListen: '127.0.0.1',
    migrationAddress: '0.0.0.0',
    migrationHost: '',
    migrationPortMin: 49152,
    migrationPortMax: 49215,
    lockManager: 'lockd',
    lockdSocket: '',
    lockdBackend: 'fcntl',
    etcdEndpoints: ['http://127.0.0.1:2379'],
    etcdPrefix: '/ferry',
    leaseTtl: 10,
    autoDiskLeases: true,
    requireLeaseForDisks: undefined,
    fileLockspaceDir: '',
    lvmLockspaceDir: '',
    scsiLockspaceDir: '',
    peers: [],
    hostname: '',
    dnsServers: [],
    maxClockOffset: 500,
    memoryOvercommit: 1.0,
    cpuOvercommit: 4.0,
    tlsDir: '/etc/pki/ferry',
    migrateTlsForce: false,
    spiceTls: false,
    spiceTlsX509CertDir: '',
    nbdTlsX509CertDir: '',
    auditRetentionDays: 90,
    logMaxSize: 2 * 1024 * 1024,
    logMaxBackups: 3,
    testLogRotateIntervalMs: 5000,
    migrationHistoryRetentionDays: 365,
    testClockOffsetMs: 0,
    testKvmDevice: '',
    testKvmProbeTimeoutMs: 1500,
    testMigrationOrphanTimeoutMs: 10 * 60_000,
  };
}

type Setter = (c: DaemonConfig, v: ConfValue, where: string) => void;

const str = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (typeof v !== 'string') throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be a string`);
  (c as unknown as Record<string, unknown>)[key] = v;
};

const list = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (!Array.isArray(v)) throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be a list of strings`);
  (c as unknown as Record<string, unknown>)[key] = v;
};

const num = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (typeof v !== 'number' && !(typeof v === 'string' && /^\d+(\.\d+)?$/.test(v))) throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be a number`);
  (c as unknown as Record<string, unknown>)[key] = Number(v);
};

/** A whole number of at least 1 (a count of connections). */
const count = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new FerryError('CONFIG_INVALID', `${where}: ${key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)} must be a whole number of at least 1`);
  (c as unknown as Record<string, unknown>)[key] = v;
};

/** Octal permissions as a string ("0660"), as libvirtd.conf writes them. */
const perms = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v)) throw new FerryError('CONFIG_INVALID', `${where}: ${key === 'unixSockRwPerms' ? 'unix_sock_rw_perms' : 'unix_sock_ro_perms'} must be octal permissions such as "0660"`);
  (c as unknown as Record<string, unknown>)[key] = parseInt(v, 8);
};

/** A number of days, 0 or more (0: keep forever); fractions allowed. */
const days = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (typeof v !== 'number' || !(v >= 0)) throw new FerryError('CONFIG_INVALID', `${where}: ${key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)} must be a number of days (0 keeps records forever)`);
  (c as unknown as Record<string, unknown>)[key] = v;
};

/** libvirt's 0/1 booleans. */
const flag = (key: keyof DaemonConfig): Setter => (c, v, where) => {
  if (v !== 0 && v !== 1) throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be 0 or 1`);
  (c as unknown as Record<string, unknown>)[key] = v === 1;
};

const SETTINGS: Record<string, Setter> = {
  state_dir: str('stateDir'),
  socket: str('socket'),
  listen: str('listen'),
  listen_tcp: str('listenTcp'),
  socket_ro: str('socketRo'),
  unix_sock_group: str('unixSockGroup'),
  unix_sock_rw_perms: perms('unixSockRwPerms'),
  unix_sock_ro_perms: perms('unixSockRoPerms'),
  tls_allowed_dn_list: list('tlsAllowedDnList'),
  qemu_binary: str('qemuBinary'),
  user: str('user'),
  group: str('group'),
  dynamic_ownership: flag('dynamicOwnership'),
  seccomp_sandbox: flag('seccompSandbox'),
  max_clients: count('maxClients'),
  max_anonymous_clients: count('maxAnonymousClients'),
  max_readonly_clients: count('maxReadonlyClients'),
  test_kvm_device: str('testKvmDevice'),
  test_kvm_probe_timeout_ms: count('testKvmProbeTimeoutMs'),
  log_level: (c, v, where) => {
    if (typeof v !== 'string' || !['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(v)) {
      throw new FerryError('CONFIG_INVALID', `${where}: log_level must be one of fatal, error, warn, info, debug, trace`);
    }
    c.logLevel = v;
  },
  accel: (c, v, where) => {
    if (v !== 'auto' && v !== 'kvm' && v !== 'tcg') throw new FerryError('CONFIG_INVALID', `${where}: accel must be "auto", "kvm" or "tcg"`);
    c.accel = v;
  },
  vnc_listen: str('vncListen'),
  spice_listen: str('spiceListen'),
  migration_address: str('migrationAddress'),
  migration_host: str('migrationHost'),
  migration_port_min: (c, v, where) => {
    if (typeof v !== 'number' || v < 1 || v > 65535) throw new FerryError('CONFIG_INVALID', `${where}: migration_port_min must be a port number`);
    c.migrationPortMin = v;
  },
  migration_port_max: (c, v, where) => {
    if (typeof v !== 'number' || v < 1 || v > 65535) throw new FerryError('CONFIG_INVALID', `${where}: migration_port_max must be a port number`);
    c.migrationPortMax = v;
  },
  lock_manager: (c, v, where) => {
    if (v !== 'lockd' && v !== 'nop') throw new FerryError('CONFIG_INVALID', `${where}: lock_manager must be "lockd" or "nop"`);
    c.lockManager = v;
  },
  lockd_socket: str('lockdSocket'),
  lockd_backend: (c, v, where) => {
    if (v !== 'fcntl' && v !== 'etcd') throw new FerryError('CONFIG_INVALID', `${where}: lockd_backend must be "fcntl" or "etcd"`);
    c.lockdBackend = v;
  },
  etcd_endpoints: list('etcdEndpoints'),
  etcd_prefix: str('etcdPrefix'),
  lease_ttl: (c, v, where) => {
    if (typeof v !== 'number' || v < 2) throw new FerryError('CONFIG_INVALID', `${where}: lease_ttl must be at least 2 seconds`);
    c.leaseTtl = v;
  },
  auto_disk_leases: flag('autoDiskLeases'),
  require_lease_for_disks: flag('requireLeaseForDisks'),
  file_lockspace_dir: str('fileLockspaceDir'),
  lvm_lockspace_dir: str('lvmLockspaceDir'),
  scsi_lockspace_dir: str('scsiLockspaceDir'),
  peers: list('peers'),
  hostname: str('hostname'),
  dns_servers: list('dnsServers'),
  max_clock_offset: num('maxClockOffset'),
  memory_overcommit: num('memoryOvercommit'),
  cpu_overcommit: num('cpuOvercommit'),
  tls_dir: str('tlsDir'),
  migrate_tls_force: flag('migrateTlsForce'),
  spice_tls: flag('spiceTls'),
  spice_tls_x509_cert_dir: str('spiceTlsX509CertDir'),
  nbd_tls_x509_cert_dir: str('nbdTlsX509CertDir'),
  audit_retention_days: days('auditRetentionDays'),
  log_max_size: (c, v, where) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new FerryError('CONFIG_INVALID', `${where}: log_max_size must be a number of bytes (0: never rotate)`);
    c.logMaxSize = v;
  },
  log_max_backups: (c, v, where) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1000) throw new FerryError('CONFIG_INVALID', `${where}: log_max_backups must be a whole number from 0 to 1000`);
    c.logMaxBackups = v;
  },
  test_log_rotate_interval_ms: count('testLogRotateIntervalMs'),
  migration_history_retention_days: days('migrationHistoryRetentionDays'),
  test_clock_offset_ms: (c, v, where) => {
    if (typeof v !== 'number') throw new FerryError('CONFIG_INVALID', `${where}: test_clock_offset_ms must be a number`);
    c.testClockOffsetMs = v;
  },
  test_migration_orphan_timeout_ms: (c, v, where) => {
    if (typeof v !== 'number' || v < 0) throw new FerryError('CONFIG_INVALID', `${where}: test_migration_orphan_timeout_ms must be a number of milliseconds`);
    c.testMigrationOrphanTimeoutMs = v;
  },
  job_wait_timeout: (c, v, where) => {
    if (typeof v !== 'number' || v < 0) throw new FerryError('CONFIG_INVALID', `${where}: job_wait_timeout must be a number of seconds`);
    c.jobWaitTimeout = v;
  },
};

/** Reads ferryd.conf; unknown keys and bad values are refused with the file and line. */
export function loadConfig(path: string | undefined, overrides: Partial<DaemonConfig> = {}): DaemonConfig {
  const file = path ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  let text = '';
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new FerryError('CONFIG_INVALID', `cannot read configuration file ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  const config = configFromText(text, file ?? 'ferryd.conf');
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
  }
  return config;
}

/** The defaults with ferryd.conf text applied (`source` names it in errors). */
export function configFromText(text: string, source: string): DaemonConfig {
  const config = defaultConfig();
  for (const [key, { value, line }] of parseConfFile(text, source)) {
    const set = SETTINGS[key];
    if (!set) throw new FerryError('CONFIG_INVALID', `${source}:${line}: unknown setting '${key}'`);
    set(config, value, `${source}:${line}`);
  }
  return config;
}

/** The keys ferryd.conf may set. */
export function configKeys(): string[] {
  return Object.keys(SETTINGS);
}
