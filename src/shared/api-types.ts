// ferryd's API replies that the CLI prints: each type is its schema's (Static), and api/schemas/route-responses.ts
// declares the routes' replies with the same schemas. Modules take these types from here, not from the server modules
// that build them.
import type { DiskCacheMode, DiskIoMode } from './disk-modes.js';
import type { DomainState } from './domain-state.js';
import { jobInfoSchema } from './job-info.js';
import {
  anyValue,
  bool,
  choice,
  closed,
  flag,
  integer,
  list,
  mapOf,
  nonEmpty,
  nullable,
  num,
  optional,
  record,
  type Static,
  text,
  textAs,
} from './typed-schema.js';
import { forecastOutcomeSchema } from './migration-forecast.js';
import { type PoolType, poolStatsSchema } from './volume.js';

export const vcpuCountSchema = record({
  maximumConfig: nullable(integer()),
  maximumLive: nullable(integer()),
  currentConfig: nullable(integer()),
  currentLive: nullable(integer()),
});
export type VcpuCount = Static<typeof vcpuCountSchema>;

export const vcpuInfoSchema = record({
  vcpu: integer(),
  /** The host CPU it last ran on; null when the domain is not running. */
  cpu: nullable(integer()),
  state: nullable(textAs<'running' | 'offline'>()),
  cpuSeconds: nullable(num()),
  affinity: text(),
});
export type VcpuInfo = Static<typeof vcpuInfoSchema>;

/** One line of `virsh dommemstat`: a tag and its value (KiB, or a count, or seconds for last_update). */
export const memoryStatSchema = record({ tag: text(), value: num() });
export type MemoryStat = Static<typeof memoryStatSchema>;

/** virsh domifstat's counters by name. */
export const interfaceStatsSchema = mapOf(num(), 'rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop');
export type InterfaceStats = Static<typeof interfaceStatsSchema>;

export const secretSummarySchema = record({ uuid: text(), usage: text(), ephemeral: flag(), private: flag(), hasValue: flag() });
export type SecretSummary = Static<typeof secretSummarySchema>;

/** A short listing row, read without the XML. */
export const domainSummarySchema = record({
  uuid: text(),
  name: text(),
  domainId: nullable(integer("The running domain's id, null when shut off")),
  state: textAs<DomainState>('running, paused, shutoff, ...'),
  reason: text(),
  persistent: flag(),
  autostart: flag(),
  managedSave: optional(flag('A managed save image exists')),
});
export type DomainSummary = Static<typeof domainSummarySchema>;

export const blockJobStatusSchema = record({
  disk: text(),
  kind: textAs<'copy'>(),
  offset: integer(),
  len: integer(),
  ready: flag(),
  percent: num(),
});
export type BlockJobStatus = Static<typeof blockJobStatusSchema>;

export const domainInfoSchema = record({
  id: nullable(integer()),
  name: text(),
  uuid: text(),
  osType: textAs<'hvm'>(),
  state: textAs<DomainState>(),
  reason: text(),
  vcpus: integer(),
  cpuTimeSeconds: nullable(num()),
  maxMemoryKiB: integer(),
  usedMemoryKiB: integer(),
  persistent: flag(),
  autostart: flag(),
  /** The running QEMU's user and group as libvirt's DAC driver labels them (+UID:+GID); null when shut off. */
  securityLabel: nullable(text("The QEMU process's +UID:+GID; null when shut off")),
  /** libvirt's taint flags of this run: custom-monitor once qemu-monitor-command was used. */
  taints: list(text()),
  managedSave: flag('A managed save image exists (virsh managedsave): the next start restores it'),
});
export type DomainInfo = Static<typeof domainInfoSchema>;

export const versionInfoSchema = record({
  ferry: text(),
  qemu: nullable(text()),
  qemuPackage: nullable(text()),
  qemuBinary: text(),
  accel: nullable(textAs<'kvm' | 'tcg'>()),
  accelReason: text(),
  hostname: text(),
});
export type VersionInfo = Static<typeof versionInfoSchema>;

/** One state-changing API call (docs/audit.md): who, from where, what, and how it ended. */
export const auditRecordSchema = record({
  id: integer(),
  at: integer('ms since the epoch'),
  listener: text('unix, unix-ro, tls or tcp'),
  /** The caller's unix uid, gid and pid (peer credentials of a unix socket connection); null on TLS/TCP. */
  uid: nullable(integer()),
  gid: nullable(integer()),
  pid: nullable(integer()),
  dn: nullable(text("The client certificate's DN (TLS)")),
  /** Where from: the socket path, or the remote address and port. */
  origin: text(),
  method: text(),
  /** The route's pattern (/v1/domains/:ref/:action). */
  route: text(),
  /** What was asked, in virsh's words where there is one (start, undefine, migrate, pool-create, ...). */
  operation: text(),
  domainName: nullable(text()),
  domainUuid: nullable(text()),
  /** The call's options (query and body, large or secret values left out). */
  options: mapOf(anyValue()),
  outcome: choice(['ok', 'error']),
  /** The error code of a failed call (DOMAIN_NOT_FOUND, ACCESS_DENIED, ...). */
  errorCode: nullable(text()),
  durationMs: num(),
});
export type AuditRecord = Static<typeof auditRecordSchema>;

/** One phase of a past migration: when it was entered and how long it lasted (until the next one). */
export const historyPhaseSchema = record({ phase: text(), at: integer(), durationMs: nullable(num()) });
export type HistoryPhase = Static<typeof historyPhaseSchema>;

/** A migration as `ferry migrate-history` shows it, from one side's record (docs/audit.md). */
export const migrationHistoryEntrySchema = record({
  id: text(),
  side: choice(['source', 'destination']),
  name: text(),
  uuid: text(),
  /** Source side: the destination URI; destination side: the source's peer URI. */
  peer: text(),
  outcome: text('The last phase: Succeeded, Failed or Cancelled once finished'),
  error: nullable(text()),
  options: mapOf(anyValue()),
  startedAt: integer(),
  /** When the last phase was entered (the end, once finished). */
  endedAt: integer(),
  totalMs: num(),
  /** Memory bytes QEMU sent (ram transferred), disk bytes mirrored, and the downtime QEMU measured; null when not known. */
  bytes: nullable(integer()),
  diskBytes: nullable(integer()),
  downtimeMs: nullable(num()),
  phases: list(historyPhaseSchema),
  /** The job statistics as recorded at the end (domjobinfo --completed's). */
  stats: nullable(mapOf(anyValue())),
  /** Source side: what was forecast before Perform beside what happened (docs/forecast.md); null when none was made. */
  forecast: nullable(forecastOutcomeSchema),
});
export type MigrationHistoryEntry = Static<typeof migrationHistoryEntrySchema>;

export const networkSummarySchema = record({
  name: text(),
  uuid: text(),
  forward: anyValue<'bridge' | 'isolated'>('The forward mode and its details'),
  active: flag(),
  autostart: flag(),
  persistent: flag(),
  /** The bridge in use while active, else the one the definition names. */
  bridge: text(),
});
export type NetworkSummary = Static<typeof networkSummarySchema>;

/** virsh nodeinfo's fields. */
export const nodeInfoSchema = record({
  cpuModel: text(),
  cpus: integer(),
  mhz: num(),
  sockets: integer(),
  coresPerSocket: integer(),
  threadsPerCore: integer(),
  numaCells: integer(),
  memoryKiB: integer(),
});
export type NodeInfo = Static<typeof nodeInfoSchema>;

export const poolSummarySchema = record({
  name: text(),
  uuid: text(),
  type: textAs<PoolType>(),
  state: choice(['running', 'inactive']),
  autostart: flag(),
  persistent: flag(),
  target: text(),
  stats: optional(poolStatsSchema),
});
export type PoolSummary = Static<typeof poolSummarySchema>;

const counters = (description: string) => mapOf(integer(), description);
export const blockCountersSchema = record({
  name: text(),
  path: optional(text()),
  rd: counters('reqs, bytes, times'),
  wr: counters('reqs, bytes, times'),
  fl: counters('reqs, times'),
  allocation: optional(integer()),
  capacity: optional(integer()),
  physical: optional(integer()),
});
export type BlockCounters = Static<typeof blockCountersSchema>;

export const typedParamSchema = record({
  field: text("libvirt's name: state.state, cpu.time, block.0.rd.bytes, ..."),
  value: anyValue<number | string>('a number or a string'),
});
export type TypedParam = Static<typeof typedParamSchema>;

/** One display of a running domain, as virsh domdisplay names it. */
export const displayUriSchema = record({ type: textAs<'vnc' | 'spice' | 'dbus'>(), uri: text() });
export type DisplayUri = Static<typeof displayUriSchema>;

/**
 * The disk properties `ferry disk-edit` changes (virt-xml --edit --disk target=vda,cache=none,...): PATCH
 * /v1/domains/:ref/disks/:target's body. The daemon checks cache and io (an error naming the mode), the schema only
 * that they are strings.
 */
export const diskEditSchema = closed({
  cache: optional(textAs<DiskCacheMode>()),
  io: optional(textAs<DiskIoMode>()),
  readonly: optional(bool()),
  shareable: optional(bool()),
  source: optional(nonEmpty()),
});
export type DiskEdit = Static<typeof diskEditSchema>;

/** What the API returns for a finished migration. */
export const migrationResultSchema = record({
  id: text(),
  name: text(),
  dest: text(),
  job: jobInfoSchema,
  warnings: list(text()),
  /** ferry's wall time from Begin to the end of Confirm. */
  wallMs: num(),
});
export type MigrationResult = Static<typeof migrationResultSchema>;
