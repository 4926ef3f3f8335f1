// Shapes of ferryd's API replies that the CLI prints. The server modules that build them re-export them.
import type { DiskCacheMode, DiskIoMode } from './disk-modes.js';
import type { DomainState } from './domain-state.js';
import type { JobInfo } from './job-info.js';
import type { ForecastOutcome } from './migration-forecast.js';
import type { PoolStats, PoolType } from './volume.js';

export interface VcpuCount {
  maximumConfig: number | null;
  maximumLive: number | null;
  currentConfig: number | null;
  currentLive: number | null;
}

export interface VcpuInfo {
  vcpu: number;
  /** The host CPU it last ran on; null when the domain is not running. */
  cpu: number | null;
  state: 'running' | 'offline' | null;
  cpuSeconds: number | null;
  affinity: string;
}

/** One line of `virsh dommemstat`: a tag and its value (KiB, or a count, or seconds for last_update). */
export interface MemoryStat {
  tag: string;
  value: number;
}

export interface InterfaceStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errs: number;
  rx_drop: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errs: number;
  tx_drop: number;
}

export interface SecretSummary {
  uuid: string;
  usage: string;
  ephemeral: boolean;
  private: boolean;
  hasValue: boolean;
}

/** A short listing row, read without the XML. */
export interface DomainSummary {
  uuid: string;
  name: string;
  domainId: number | null;
  state: DomainState;
  reason: string;
  persistent: boolean;
  autostart: boolean;
}

export interface BlockJobStatus {
  disk: string;
  kind: 'copy';
  offset: number;
  len: number;
  ready: boolean;
  percent: number;
}

export interface DomainInfo {
  id: number | null;
  name: string;
  uuid: string;
  osType: 'hvm';
  state: DomainState;
  reason: string;
  vcpus: number;
  cpuTimeSeconds: number | null;
  maxMemoryKiB: number;
  usedMemoryKiB: number;
  persistent: boolean;
  autostart: boolean;
  /** The running QEMU's user and group as libvirt's DAC driver labels them (+UID:+GID); null when shut off. */
  securityLabel: string | null;
  /** libvirt's taint flags of this run: custom-monitor once qemu-monitor-command was used. */
  taints: string[];
  /** A managed save image exists (virsh dominfo's "Managed save"). */
  managedSave: boolean;
}

export interface VersionInfo {
  ferry: string;
  qemu: string | null;
  qemuPackage: string | null;
  qemuBinary: string;
  accel: 'kvm' | 'tcg' | null;
  accelReason: string;
  hostname: string;
}

/** One state-changing API call (docs/audit.md): who, from where, what, and how it ended. */
export interface AuditRecord {
  id: number;
  /** When the call was answered (ms since the epoch). */
  at: number;
  /** The listener it came in on: unix, unix-ro, tls or tcp. */
  listener: string;
  /** The caller's unix uid, gid and pid (peer credentials of a unix socket connection); null on TLS/TCP. */
  uid: number | null;
  gid: number | null;
  pid: number | null;
  /** The client certificate's DN (TLS); null otherwise. */
  dn: string | null;
  /** Where from: the socket path, or the remote address and port. */
  origin: string;
  method: string;
  /** The route's pattern (/v1/domains/:ref/:action). */
  route: string;
  /** What was asked, in virsh's words where there is one (start, undefine, migrate, pool-create, ...). */
  operation: string;
  domainName: string | null;
  domainUuid: string | null;
  /** The call's options (query and body, large or secret values left out). */
  options: Record<string, unknown>;
  outcome: 'ok' | 'error';
  /** The error code of a failed call (DOMAIN_NOT_FOUND, ACCESS_DENIED, ...). */
  errorCode: string | null;
  durationMs: number;
}

/** One phase of a past migration: when it was entered and how long it lasted (until the next one). */
export interface HistoryPhase {
  phase: string;
  at: number;
  durationMs: number | null;
}

/** A migration as `ferry migrate-history` shows it, from one side's record (docs/audit.md). */
export interface MigrationHistoryEntry {
  id: string;
  side: 'source' | 'destination';
  name: string;
  uuid: string;
  /** Source side: the destination URI; destination side: the source's peer URI. */
  peer: string;
  /** The current phase: Succeeded, Failed or Cancelled once finished. */
  outcome: string;
  error: string | null;
  options: Record<string, unknown>;
  startedAt: number;
  /** When the last phase was entered (the end, once finished). */
  endedAt: number;
  totalMs: number;
  /** Memory bytes QEMU sent (ram transferred), disk bytes mirrored, and the downtime QEMU measured; null when not known. */
  bytes: number | null;
  diskBytes: number | null;
  downtimeMs: number | null;
  phases: HistoryPhase[];
  /** The job statistics as recorded at the end (domjobinfo --completed's). */
  stats: Record<string, unknown> | null;
  /** Source side: what was forecast before Perform beside what happened (docs/forecast.md); null when none was made. */
  forecast: ForecastOutcome | null;
}

export interface NetworkSummary {
  name: string;
  uuid: string;
  forward: 'bridge' | 'isolated';
  active: boolean;
  autostart: boolean;
  persistent: boolean;
  /** The bridge in use while active, else the one the definition names. */
  bridge: string;
}

/** virsh nodeinfo's fields. */
export interface NodeInfo {
  cpuModel: string;
  cpus: number;
  mhz: number;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  numaCells: number;
  memoryKiB: number;
}

export interface PoolSummary {
  name: string;
  uuid: string;
  type: PoolType;
  state: 'running' | 'inactive';
  autostart: boolean;
  persistent: true;
  stats?: PoolStats;
  target: string;
}

export interface BlockCounters {
  name: string;
  path?: string;
  rd: { reqs: number; bytes: number; times: number };
  wr: { reqs: number; bytes: number; times: number };
  fl: { reqs: number; times: number };
  allocation?: number;
  capacity?: number;
  physical?: number;
}

export interface TypedParam {
  field: string;
  value: number | string;
}

/** One display of a running domain, as virsh domdisplay names it. */
export interface DisplayUri {
  type: 'vnc' | 'spice' | 'dbus';
  uri: string;
}

/** The disk properties `ferry disk-edit` changes (virt-xml --edit --disk target=vda,cache=none,...). */
export interface DiskEdit {
  cache?: DiskCacheMode;
  io?: DiskIoMode;
  readonly?: boolean;
  shareable?: boolean;
  source?: string;
}

/** What the API returns for a finished migration. */
export interface MigrationResult {
  id: string;
  name: string;
  dest: string;
  job: JobInfo;
  warnings: string[];
  /** ferry's wall time from Begin to the end of Confirm. */
  wallMs: number;
}
