import { existsSync, readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import type { AccelSetting } from '../host/qemu-capabilities.js';
import { type ConfValue, parseConfFile } from '../common/config-file.js';
import { POLICY_NAMES, type PolicyName } from '../shared/migration-options-schema.js';

/** ferryd's settings: defaults ← ferryd.conf ← command line. docs/configuration.md lists them. */
export interface DaemonConfig {
  stateDir: string;
  socket: string;
  /** host:port of the TLS listener (ferry+tls://: the CLI from other machines, and the peer API); empty: none. */
  listen: string;
  /** host:port of a plain-TCP listener with no authentication at all (ferry+tcp://); empty: none (the default). */
  listenTcp: string;
  /** host:port of the Prometheus /metrics listener (plain HTTP, metrics only); empty: none (the default). */
  metricsListen: string;
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
  /** Automatic recoveries of a post-copy migration whose connection broke, before it waits for migrate --postcopy-resume (0: none). */
  migrationPostcopyRecoverAttempts: number;
  /** Seconds a running migration may move no data before it is aborted (pre-copy) or paused for recovery (post-copy); 0: never. */
  migrationProgressTimeout: number;
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
  /** How long QEMU measures the guest's dirty rate for the forecast before a live migration, in ms; 0: not measured. */
  migrateDirtyRateWindowMs: number;
  /** The convergence policy of a live migration that names none (docs/policies.md); --policy overrides it. */
  migrationPolicy: PolicyName;
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
    metricsListen: '',
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
    migrationPostcopyRecoverAttempts: 5,
    migrationProgressTimeout: 150,
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
    migrateDirtyRateWindowMs: 100,
    migrationPolicy: 'auto',
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

/** What ferryd.conf(5) says about a key: its type, default and meaning. */
export interface SettingDoc {
  /** The DaemonConfig field it sets (its default comes from defaultConfig()). */
  field?: keyof DaemonConfig;
  type: string;
  doc: string;
  /** The default as words, where the value alone would mislead (one derived from another key). */
  defaultText?: string;
}

type SetFn = (c: DaemonConfig, v: ConfValue, where: string) => void;
/** Sets one key; carries its documentation (ferryd.conf(5) and docs/configuration.md are written from it). */
type Setter = SetFn & { meta?: SettingDoc };

const documented = (fn: SetFn, meta: SettingDoc): Setter => Object.assign(fn, { meta });

type Doc = string | Omit<SettingDoc, 'field' | 'type'>;
const meta = (field: keyof DaemonConfig, type: string, doc: Doc | undefined): SettingDoc => ({
  field,
  type,
  ...(typeof doc === 'string' ? { doc } : (doc ?? { doc: '' })),
});

const str = (key: keyof DaemonConfig, doc?: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (typeof v !== 'string') throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be a string`);
      (c as unknown as Record<string, unknown>)[key] = v;
    },
    meta(key, 'string', doc),
  );

const list = (key: keyof DaemonConfig, doc?: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (!Array.isArray(v)) throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be a list of strings`);
      (c as unknown as Record<string, unknown>)[key] = v;
    },
    meta(key, 'list of strings', doc),
  );

const num = (key: keyof DaemonConfig, doc?: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (typeof v !== 'number' && !(typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)))
        throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be a number`);
      (c as unknown as Record<string, unknown>)[key] = Number(v);
    },
    meta(key, 'number', doc),
  );

/** The name ferryd.conf gives a field (logMaxSize: log_max_size). */
const confName = (key: keyof DaemonConfig): string => key.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);

/** A whole number that `accepts` takes; the error says what it must be ("a whole number from 0 to 100"). */
const wholeNumber = (key: keyof DaemonConfig, accepts: (n: number) => boolean, mustBe: string, type: string, doc: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || !accepts(v)) throw new FerryError('CONFIG_INVALID', `${where}: ${confName(key)} must be ${mustBe}`);
      (c as unknown as Record<string, unknown>)[key] = v;
    },
    meta(key, type, doc),
  );

/** A whole number of at least 1 (a count of connections). */
const count = (key: keyof DaemonConfig, doc?: Doc): Setter => wholeNumber(key, (n) => n >= 1, 'a whole number of at least 1', 'integer >= 1', doc ?? '');

/** Octal permissions as a string ("0660"), as libvirtd.conf writes them. */
const perms = (key: keyof DaemonConfig, doc?: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v))
        throw new FerryError(
          'CONFIG_INVALID',
          `${where}: ${key === 'unixSockRwPerms' ? 'unix_sock_rw_perms' : 'unix_sock_ro_perms'} must be octal permissions such as "0660"`,
        );
      (c as unknown as Record<string, unknown>)[key] = parseInt(v, 8);
    },
    meta(key, 'octal string', doc),
  );

/** A number of days, 0 or more (0: keep forever); fractions allowed. */
const days = (key: keyof DaemonConfig, doc?: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (typeof v !== 'number' || !(v >= 0))
        throw new FerryError('CONFIG_INVALID', `${where}: ${confName(key)} must be a number of days (0 keeps records forever)`);
      (c as unknown as Record<string, unknown>)[key] = v;
    },
    meta(key, 'days', doc),
  );

/** libvirt's 0/1 booleans. */
const flag = (key: keyof DaemonConfig, doc?: Doc): Setter =>
  documented(
    (c, v, where) => {
      if (v !== 0 && v !== 1) throw new FerryError('CONFIG_INVALID', `${where}: ${key} must be 0 or 1`);
      (c as unknown as Record<string, unknown>)[key] = v === 1;
    },
    meta(key, '0 or 1', doc),
  );

const SETTINGS: Record<string, Setter> = {
  state_dir: str('stateDir', 'definitions (SQLite), domain logs, QEMU sockets and pidfiles; at most 57 bytes long (unix socket paths). Option --state-dir'),
  socket: str('socket', 'the read-write API socket the CLI connects to (ferry:///system). Option --socket'),
  listen: str('listen', {
    doc: 'host:port of the TLS listener: ferry+tls:// clients and the peer API other ferryds call to migrate VMs here; mutual TLS with the certificates in tls_dir. Option --listen',
    defaultText: '(none)',
  }),
  listen_tcp: str('listenTcp', {
    doc: 'host:port of a plain-TCP listener with NO authentication (ferry+tcp://): for test labs only. Option --listen-tcp',
    defaultText: '(none)',
  }),
  metrics_listen: documented(
    (c, v, where) => {
      if (typeof v !== 'string' || (v !== '' && !/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(v)) || (v !== '' && Number(v.replace(/^.*:/, '')) > 65535)) {
        throw new FerryError('CONFIG_INVALID', `${where}: metrics_listen must be host:port, such as "127.0.0.1:9477", not ${JSON.stringify(v)}`);
      }
      c.metricsListen = v;
    },
    {
      field: 'metricsListen',
      type: 'host:port',
      doc: 'host:port of the Prometheus /metrics listener (plain HTTP, GET /metrics only; docs/metrics.md); off when absent',
      defaultText: '(none)',
    },
  ),
  socket_ro: str('socketRo', { doc: 'the read-only socket (ferry -r): queries only', defaultText: 'ferryd-ro.sock beside socket' }),
  unix_sock_group: str('unixSockGroup', 'the group that may use the read-write socket, besides root; a group that does not exist leaves it to root'),
  unix_sock_rw_perms: perms('unixSockRwPerms', "the read-write socket's permissions"),
  unix_sock_ro_perms: perms('unixSockRoPerms', "the read-only socket's permissions"),
  tls_allowed_dn_list: list('tlsAllowedDnList', {
    doc: 'glob patterns over client certificate subjects allowed on the TLS listener, e.g. [ "O=ferry,OU=ferry-host,CN=*" ] (libvirt\'s)',
    defaultText: '[] (any certificate the CA signed)',
  }),
  qemu_binary: str('qemuBinary', "QEMU system emulator (a domain's <emulator> wins). Option --qemu-binary"),
  user: str(
    'user',
    'the unprivileged account every QEMU runs as (qemu.conf\'s user); its supplementary groups count (usermod -aG kvm ferry-qemu for /dev/kvm). "root" runs QEMU as root: not recommended. A ferryd that does not run as root runs QEMU as itself',
  ),
  group: str('group', { doc: "QEMU's primary group (qemu.conf's group)", defaultText: "the user's own group" }),
  dynamic_ownership: flag(
    'dynamicOwnership',
    "change the owner of each file a domain's QEMU must open to user:group when QEMU could not open it otherwise, as libvirt does; 0: nothing is changed and such a domain is refused with QEMU_ACCESS_DENIED",
  ),
  seccomp_sandbox: flag('seccompSandbox', "QEMU's seccomp sandbox (no fork/exec, no uid changes); 0 for a QEMU built without seccomp"),
  max_clients: count(
    'maxClients',
    "connections at once on the read-write socket, and on the TLS listener, each (libvirt's); lowered to fit the descriptor limit",
  ),
  max_anonymous_clients: count(
    'maxAnonymousClients',
    "TLS connections at once that have not finished their handshake (libvirt's); a handshake must finish within 10 s",
  ),
  max_readonly_clients: count('maxReadonlyClients', 'connections at once on the read-only socket, which every local user may open'),
  test_kvm_device: str('testKvmDevice', { doc: 'test only: the device the KVM probe looks for', defaultText: '/dev/kvm' }),
  test_kvm_probe_timeout_ms: count('testKvmProbeTimeoutMs', "test only: how long the KVM probe's test guest may take, in ms"),
  log_level: documented(
    (c, v, where) => {
      if (typeof v !== 'string' || !['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(v)) {
        throw new FerryError('CONFIG_INVALID', `${where}: log_level must be one of fatal, error, warn, info, debug, trace`);
      }
      c.logLevel = v;
    },
    { field: 'logLevel', type: 'fatal|error|warn|info|debug|trace', doc: 'how much ferryd logs; debug adds QEMU command lines. Option --log-level' },
  ),
  accel: documented(
    (c, v, where) => {
      if (v !== 'auto' && v !== 'kvm' && v !== 'tcg') throw new FerryError('CONFIG_INVALID', `${where}: accel must be "auto", "kvm" or "tcg"`);
      c.accel = v;
    },
    {
      field: 'accel',
      type: 'auto|kvm|tcg',
      doc: 'auto boots a tiny test guest under KVM once and uses KVM only if it runs in time; kvm, tcg force it. Option --accel',
    },
  ),
  vnc_listen: str(
    'vncListen',
    "where a VNC display that names no listen address listens (qemu.conf's); 0.0.0.0 exposes every display, so give displays passwords first",
  ),
  spice_listen: str('spiceListen', "where a SPICE display that names no listen address listens (qemu.conf's)"),
  migration_address: str('migrationAddress', "where incoming migration streams are accepted (libvirt's); --listen-address overrides it per migration"),
  migration_host: str('migrationHost', {
    doc: "the host name or address sources send migration data to (libvirt's); empty: migration_address when it is a specific address, else the host of the destination URI",
    defaultText: '(empty)',
  }),
  migration_port_min: documented(
    (c, v, where) => {
      if (typeof v !== 'number' || v < 1 || v > 65535) throw new FerryError('CONFIG_INVALID', `${where}: migration_port_min must be a port number`);
      c.migrationPortMin = v;
    },
    { field: 'migrationPortMin', type: 'port', doc: 'the lowest port for incoming migration streams (open the range in the firewall)' },
  ),
  migration_port_max: documented(
    (c, v, where) => {
      if (typeof v !== 'number' || v < 1 || v > 65535) throw new FerryError('CONFIG_INVALID', `${where}: migration_port_max must be a port number`);
      c.migrationPortMax = v;
    },
    { field: 'migrationPortMax', type: 'port', doc: 'the highest port for incoming migration streams' },
  ),
  migration_postcopy_recover_attempts: wholeNumber(
    'migrationPostcopyRecoverAttempts',
    (n) => n >= 0 && n <= 100,
    'a whole number from 0 to 100',
    'count',
    'times a source reconnects by itself a post-copy migration whose connection broke (1 s apart, doubling); then, or with 0, both sides wait paused for ferry migrate --postcopy-resume',
  ),
  migration_progress_timeout: wholeNumber(
    'migrationProgressTimeout',
    (n) => n >= 0 && n <= 86_400,
    'a whole number of seconds from 0 to 86400',
    'seconds',
    "seconds a running migration may move no data (a stalled or black-holed migration network) before ferry acts: a pre-copy is aborted (MIG_NO_PROGRESS, the VM keeps running on the source), a post-copy is paused (migrate-pause) so its recovery reconnects; 0: never (KubeVirt's progressTimeout, 150 s by default)",
  ),
  lock_manager: documented(
    (c, v, where) => {
      if (v !== 'lockd' && v !== 'nop') throw new FerryError('CONFIG_INVALID', `${where}: lock_manager must be "lockd" or "nop"`);
      c.lockManager = v;
    },
    { field: 'lockManager', type: 'lockd|nop', doc: 'lockd: ferry-lockd holds a lease on every disk; nop: no leases' },
  ),
  lockd_socket: str('lockdSocket', { doc: 'where ferry-lockd listens', defaultText: 'ferry-lockd.sock beside socket' }),
  lockd_backend: documented(
    (c, v, where) => {
      if (v !== 'fcntl' && v !== 'etcd') throw new FerryError('CONFIG_INVALID', `${where}: lockd_backend must be "fcntl" or "etcd"`);
      c.lockdBackend = v;
    },
    { field: 'lockdBackend', type: 'fcntl|etcd', doc: 'where leases live: OFD locks on the images (or lockspace files), or etcd keys' },
  ),
  etcd_endpoints: list('etcdEndpoints', 'the etcd endpoints (etcd backend)'),
  etcd_prefix: str('etcdPrefix', 'the key prefix in etcd (etcd backend)'),
  lease_ttl: documented(
    (c, v, where) => {
      if (typeof v !== 'number' || v < 2) throw new FerryError('CONFIG_INVALID', `${where}: lease_ttl must be at least 2 seconds`);
      c.leaseTtl = v;
    },
    { field: 'leaseTtl', type: 'seconds >= 2', doc: "etcd backend: seconds a dead lockd's leases survive" },
  ),
  auto_disk_leases: flag('autoDiskLeases', 'every disk gets a lease automatically'),
  require_lease_for_disks: flag('requireLeaseForDisks', {
    doc: 'with auto_disk_leases = 0, refuse domains with writable disks and no <lease>',
    defaultText: 'the opposite of auto_disk_leases',
  }),
  file_lockspace_dir: str('fileLockspaceDir', {
    doc: 'indirect leases DIR/<sha256 of the disk path>, for block devices and LUNs; put it on storage all hosts share',
    defaultText: '(none)',
  }),
  lvm_lockspace_dir: str('lvmLockspaceDir', { doc: 'leases of LVM volumes, DIR/<LV uuid>', defaultText: '(none)' }),
  scsi_lockspace_dir: str('scsiLockspaceDir', { doc: 'leases of SCSI disks, DIR/<SCSI wwid>', defaultText: '(none)' }),
  peers: list('peers', 'other ferryd hosts (URIs) lock-clear asks whether they run the domain'),
  hostname: str('hostname', { doc: 'the name this host goes by for other hosts', defaultText: 'the system host name' }),
  dns_servers: list('dnsServers', { doc: 'DNS servers for the pre-flight name checks', defaultText: '[] (those of /etc/resolv.conf)' }),
  max_clock_offset: num('maxClockOffset', 'the largest clock offset between hosts the pre-flight check accepts, in ms'),
  memory_overcommit: num('memoryOvercommit', "how far the domains' memory may exceed the host's, in the pre-flight fit check"),
  cpu_overcommit: num('cpuOvercommit', 'vCPUs per host CPU the pre-flight fit check allows'),
  tls_dir: str(
    'tlsDir',
    "this host's certificates: ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem (ferry cert-host-create writes them)",
  ),
  migrate_tls_force: flag('migrateTlsForce', 'every migration from this host is encrypted as if --tls were given, and a plain migration to it is refused'),
  migrate_dirty_rate_window_ms: wholeNumber(
    'migrateDirtyRateWindowMs',
    (n) => n === 0 || (n >= 50 && n <= 60_000),
    '0 (no measurement) or between 50 and 60000',
    'ms, 0 or 50-60000',
    "how long QEMU measures the guest's dirty rate for the migration forecast (docs/forecast.md), during the pre-flight checks; 0: not measured",
  ),
  migration_policy: documented(
    (c, v, where) => {
      if (typeof v !== 'string' || !(POLICY_NAMES as readonly string[]).includes(v))
        throw new FerryError('CONFIG_INVALID', `${where}: migration_policy must be one of ${POLICY_NAMES.map((n) => `"${n}"`).join(', ')}`);
      c.migrationPolicy = v as PolicyName;
    },
    {
      field: 'migrationPolicy',
      type: POLICY_NAMES.join('|'),
      doc: "how a live migration that does not converge ends when migrate names no --policy (docs/policies.md); virsh's --auto-converge, --postcopy and --timeout flags alone mean manual",
    },
  ),
  spice_tls: flag('spiceTls', "SPICE displays may have a TLS port, and autoport ones get one (qemu.conf's)"),
  spice_tls_x509_cert_dir: str('spiceTlsX509CertDir', {
    doc: "where SPICE's ca-cert.pem, server-cert.pem and server-key.pem are (qemu.conf's)",
    defaultText: 'tls_dir',
  }),
  nbd_tls_x509_cert_dir: str('nbdTlsX509CertDir', { doc: "where the certificates of NBD disks with tls='yes' are (qemu.conf's)", defaultText: 'tls_dir' }),
  audit_retention_days: days('auditRetentionDays', 'how long the audit trail (ferry audit) keeps each record, in days; 0 keeps them forever (docs/audit.md)'),
  migration_history_retention_days: days(
    'migrationHistoryRetentionDays',
    'how long finished migrations stay in ferry migrate-history, in days; 0 keeps them forever (docs/audit.md)',
  ),
  log_max_size: wholeNumber(
    'logMaxSize',
    (n) => n >= 0,
    'a number of bytes (0: never rotate)',
    'bytes',
    "a domain log or serial log QEMU appends to is rotated when it grows past this size (virtlogd's max_size); 0 never rotates",
  ),
  log_max_backups: wholeNumber(
    'logMaxBackups',
    (n) => n >= 0 && n <= 1000,
    'a whole number from 0 to 1000',
    'count',
    "rotated copies kept of each log, NAME.1 the newest (virtlogd's max_backups)",
  ),
  test_log_rotate_interval_ms: count('testLogRotateIntervalMs', 'test only: how often log sizes are checked, in ms'),
  test_clock_offset_ms: documented(
    (c, v, where) => {
      if (typeof v !== 'number') throw new FerryError('CONFIG_INVALID', `${where}: test_clock_offset_ms must be a number`);
      c.testClockOffsetMs = v;
    },
    { field: 'testClockOffsetMs', type: 'number', doc: "test only: this host's clock reads ahead by this many ms in the pre-flight checks" },
  ),
  test_migration_orphan_timeout_ms: documented(
    (c, v, where) => {
      if (typeof v !== 'number' || v < 0) throw new FerryError('CONFIG_INVALID', `${where}: test_migration_orphan_timeout_ms must be a number of milliseconds`);
      c.testMigrationOrphanTimeoutMs = v;
    },
    {
      field: 'testMigrationOrphanTimeoutMs',
      type: 'milliseconds',
      doc: 'test only: how long a restarted destination keeps an incoming VM whose source does not answer',
    },
  ),
  job_wait_timeout: documented(
    (c, v, where) => {
      if (typeof v !== 'number' || v < 0) throw new FerryError('CONFIG_INVALID', `${where}: job_wait_timeout must be a number of seconds`);
      c.jobWaitTimeout = v;
    },
    { field: 'jobWaitTimeout', type: 'seconds', doc: 'how long a job waits for another job on the same domain before failing with OPERATION_IN_PROGRESS' },
  ),
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

/** Every key with its type, default and meaning, from the table the parser uses (ferryd.conf(5)). */
export function configKeyDocs(): { key: string; type: string; default: string; doc: string }[] {
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  return Object.entries(SETTINGS).map(([key, set]) => {
    const m = set.meta;
    if (!m) return { key, type: '', default: '', doc: '' };
    return { key, type: m.type, default: m.defaultText ?? formatDefault(m, m.field ? defaults[m.field] : undefined), doc: m.doc };
  });
}

function formatDefault(m: SettingDoc, v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[ ${v.map((x) => `"${String(x)}"`).join(', ')} ]`;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (m.type === 'octal string' && typeof v === 'number') return `"0${v.toString(8)}"`;
  if (typeof v === 'string') return v === '' ? '(none)' : `"${v}"`;
  return String(v);
}
