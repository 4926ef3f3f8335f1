import type { Logger } from 'pino';
import { EventEmitter } from 'node:events';
import type { GuestAgent } from '../agent/guest-agent.js';
import { FerryError } from '../errors/ferry-error.js';
import type { Lease, LeaseOwner } from '../shared/lease.js';
import type { VmLocks } from '../locking/vm-locks.js';
import type { ResolvedDiskSource } from '../qemu/argv.js';
import type { QemuVersion } from '../qemu/binary.js';
import type { CpuCatalog } from '../shared/cpu-catalog.js';
import type { DomainRecord, DomainStore } from '../store/domain-store.js';
import type { DiskEdit, DisplayUri, DomainInfo, DomainSummary, MemoryStat, NodeInfo, VersionInfo } from '../shared/api-types.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import type { DomainStatus } from '../shared/domain-state.js';
import { displayUris, vncDisplay } from '../vm/display-uri.js';
import type { AsyncJobName, DomainJobs } from '../vm/jobs.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { CgroupTuning } from './cgroup-tuning.js';
import { DomainDefinitions } from './domain-definitions.js';
import type { HostEvents } from './domain-events.js';
import type { DomainEvent } from '../shared/domain-events.js';
import type { DomainLauncher } from './domain-launcher.js';
import { DomainLifecycle } from './domain-lifecycle.js';
import { DomainRegistry, type TpmStatePolicy } from './domain-registry.js';
import { DomainStarter } from './domain-starter.js';
import { EventLog } from './event-log.js';
import { ManagedSaveImages, type ManagedSaveOptions } from './managed-save.js';
import { type ChangeScope, memoryStats, setMemory, setStatsPeriod } from './memory-balloon.js';
import { domainInfo, hostVersion } from './host-info.js';
import { readNodeInfo } from './node-info.js';
import type { QemuCapabilities } from './qemu-capabilities.js';
import type { QemuFile } from './qemu-file-access.js';
import type { RunningDomain } from './running-domain.js';
import { TuningControl } from './tuning-control.js';
import { VcpuControl } from './vcpu-control.js';

export interface HostServiceDeps {
  store: DomainStore;
  locks: VmLocks;
  jobs: DomainJobs;
  launcher: DomainLauncher;
  caps: QemuCapabilities;
  qemuBinary: string;
  hostname: string;
  log: Logger;
  now?: () => number;
}

/**
 * The one entry to a host's core, a facade: every API route goes through here, and the migration
 * code through the MigrationHost port it provides. The work is done by its parts: the definitions
 * (domain-definitions.ts), the lifecycle verbs (domain-lifecycle.ts, domain-starter.ts) and the
 * running-domain registry (domain-registry.ts).
 */
export class HostService extends EventEmitter<HostEvents> {
  private readonly registry: DomainRegistry;
  private readonly definitions: DomainDefinitions;
  private readonly starter: DomainStarter;
  private readonly lifecycle: DomainLifecycle;
  /** vCPU hotplug, counts and pinning (setvcpus, vcpucount, vcpuinfo, vcpupin, emulatorpin). */
  readonly vcpus = new VcpuControl(this);
  /** <cputune> shares/bandwidth/schedulers and <blkiotune>: the domain's cgroup (src/host/cgroup-tuning.ts). */
  readonly cgroups = new CgroupTuning();
  /** virsh schedinfo and blkiotune. */
  readonly tuning = new TuningControl(this);
  /** The recent events with their ids, for event-stream clients that reconnect (Last-Event-ID). */
  readonly events = new EventLog();

  /** Managed save images (virsh managedsave): STATE_DIR/save. */
  readonly saves: ManagedSaveImages;

  constructor(private readonly deps: HostServiceDeps) {
    super();
    const now = deps.now ?? Date.now;
    const { store, locks, jobs, launcher, log } = deps;
    const publish = (event: DomainEvent): void => this.publish(event);
    this.saves = new ManagedSaveImages({ paths: launcher.paths, account: launcher.qemuAccount, log });
    const registry = (this.registry = new DomainRegistry({ store, locks, launcher, log, now, publish, restart: (uuid) => this.start(uuid) }));
    const definitions = (this.definitions = new DomainDefinitions({ store, jobs, launcher, caps: deps.caps, registry, saves: this.saves, now, publish }));
    const starter = (this.starter = new DomainStarter({
      store,
      locks,
      launcher,
      registry,
      saves: this.saves,
      vcpus: this.vcpus,
      cgroups: this.cgroups,
      log,
      now,
    }));
    this.lifecycle = new DomainLifecycle({ store, locks, jobs, definitions, registry, starter, saves: this.saves, log });
  }

  // ---- definitions (domain-definitions.ts) ----

  /** Finds a domain by id, uuid or name, in virsh's order. */
  lookup(ref: string): DomainRecord {
    return this.definitions.lookup(ref);
  }

  list(options: { all?: boolean; inactive?: boolean } = {}): Array<DomainSummary & { managedSave: boolean }> {
    return this.definitions.list(options);
  }

  /** Defines (or redefines) a persistent domain from XML. */
  define(xml: string): Promise<DomainRecord> {
    return this.definitions.define(xml);
  }

  /** Undefines a domain (virsh undefine --keep-tpm/--tpm, --nvram/--keep-nvram, --managed-save). */
  undefine(ref: string, options: { tpm?: TpmStatePolicy; nvram?: 'remove' | 'keep'; managedSave?: boolean } = {}): Promise<DomainRecord> {
    return this.definitions.undefine(ref, options);
  }

  /** Removes a domain's persistent definition (undefine, a migration's --undefinesource). */
  undefineRecord(uuid: string, tpm?: TpmStatePolicy): void {
    this.definitions.undefineRecord(uuid, tpm);
  }

  dumpXml(ref: string, options: { inactive?: boolean; secure?: boolean } = {}): string {
    return this.definitions.dumpXml(ref, options);
  }

  editDisk(ref: string, target: string, edit: DiskEdit): Promise<{ record: DomainRecord; active: boolean }> {
    return this.definitions.editDisk(ref, target, edit);
  }

  definition(ref: string, options: { inactive?: boolean } = {}): DomainDefinition {
    return this.definitions.definition(ref, options);
  }

  /** The definition as it travels to another host: without this host's log paths and tap names. */
  portableDefinition(uuid: string): DomainDefinition {
    return this.definitions.portableDefinition(uuid);
  }

  /** The emulated TPM state's files, for an offline migration. */
  tpmState(def: DomainDefinition): Record<string, string> {
    return this.deps.launcher.swtpm.readState(def);
  }

  /** Keeps the emulated TPM state an offline migration brought. */
  receiveTpmState(def: DomainDefinition, files: Record<string, string>): void {
    this.deps.launcher.swtpm.writeState(def, files);
  }

  // ---- lifecycle (domain-lifecycle.ts, domain-starter.ts) ----

  /** Starts a transient domain from XML (virsh create). */
  create(xml: string, options: { paused?: boolean } = {}): Promise<DomainRecord> {
    return this.lifecycle.create(xml, options);
  }

  start(ref: string, options: { paused?: boolean; forceBoot?: boolean } = {}): Promise<DomainRecord> {
    return this.lifecycle.start(ref, options);
  }

  managedSave(ref: string, options: ManagedSaveOptions = {}): Promise<DomainRecord> {
    return this.lifecycle.managedSave(ref, options);
  }

  managedSaveRemove(ref: string): Promise<boolean> {
    return this.lifecycle.managedSaveRemove(ref);
  }

  shutdown(ref: string, mode: 'acpi' | 'agent' = 'acpi'): Promise<DomainRecord> {
    return this.lifecycle.shutdown(ref, mode);
  }

  destroy(ref: string): Promise<DomainRecord> {
    return this.lifecycle.destroy(ref);
  }

  reboot(ref: string): Promise<DomainRecord> {
    return this.lifecycle.reboot(ref);
  }

  reset(ref: string): Promise<DomainRecord> {
    return this.lifecycle.reset(ref);
  }

  suspend(ref: string): Promise<DomainRecord> {
    return this.lifecycle.suspend(ref);
  }

  resume(ref: string): Promise<DomainRecord> {
    return this.lifecycle.resume(ref);
  }

  /** on_lockfailure = pause: stops the vCPUs at once, whatever job runs. */
  pauseForLockFailure(uuid: string): Promise<void> {
    return this.lifecycle.pauseForLockFailure(uuid);
  }

  /** Undoes pauseForLockFailure once the leases are held again (only if still paused for that reason). */
  resumeAfterLockFailure(uuid: string): Promise<boolean> {
    return this.lifecycle.resumeAfterLockFailure(uuid);
  }

  /** Launches QEMU for a definition (paused, -S) and follows it; with `incoming`, QEMU waits for a migration. */
  launchDomain(def: DomainDefinition, options: { status: DomainStatus; incoming?: boolean; restore?: boolean }): Promise<RunningDomain> {
    return this.starter.launchDomain(def, options);
  }

  /** Takes over a QEMU found running after a ferryd restart. */
  adopt(vm: RunningDomain): void {
    this.starter.adopt(vm);
  }

  // ---- running domains (domain-registry.ts) ----

  runningDomain(uuid: string): RunningDomain | undefined {
    return this.registry.get(uuid);
  }

  /** Stops following every QEMU; they keep running (ferryd shutting down). */
  detachAll(): void {
    this.registry.detachAll();
  }

  /** A line in the domain's log (beside QEMU's own output), as libvirt notes events there. */
  noteInDomainLog(name: string, line: string): void {
    this.deps.launcher.appendToDomainLog(name, line);
  }

  // ---- queries ----

  /**
   * virsh domdisplay / vncdisplay: the running domain's displays as URIs, from
   * its live definition (the ports and addresses it got at start), passwords
   * only with `password` (which the API allows read-write callers only).
   */
  displays(ref: string, options: { type?: 'vnc' | 'spice'; password?: boolean } = {}): { uris: DisplayUri[]; vnc?: string } {
    const rec = this.lookup(ref);
    if (rec.liveXml === null) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
    const graphics = (this.registry.get(rec.uuid)?.def ?? parseDomainXml(rec.liveXml)).devices.graphics.filter((g) => !options.type || g.type === options.type);
    const uris = displayUris(graphics, { password: options.password ?? false });
    if (uris.length === 0) throw new FerryError('DISPLAY_NOT_FOUND', 'No graphical display found');
    const vnc = vncDisplay(graphics);
    return { uris, ...(vnc === undefined ? {} : { vnc }) };
  }

  /** The running domain's guest agent: AGENT_NOT_CONFIGURED without a channel, AGENT_UNRESPONSIVE while the guest has it closed. */
  async guestAgent(ref: string): Promise<GuestAgent> {
    return this.requireRunning(this.lookup(ref)).agent.agent();
  }

  /**
   * virsh qemu-monitor-command: one QMP command passed through to the
   * domain's QEMU. ferry cannot know what it changed, so the domain is
   * tainted for the rest of this run (libvirt's custom-monitor: dominfo and
   * the domain log say so), and every call is logged with who made it.
   */
  async monitorCommand(ref: string, command: { execute: string; arguments?: Record<string, unknown> }, caller: string): Promise<unknown> {
    const rec = this.lookup(ref);
    const vm = this.requireRunning(rec);
    const hmp =
      command.execute === 'human-monitor-command'
        ? String(command.arguments?.['command-line'] ?? '')
            .trim()
            .split(/\s+/)[0]
        : undefined;
    this.deps.log.warn({ vm: rec.name, caller, execute: command.execute, ...(hmp ? { hmp } : {}) }, 'QEMU monitor passthrough (qemu-monitor-command)');
    if (this.deps.store.taint(rec.uuid, 'custom-monitor')) {
      this.deps.launcher.appendToDomainLog(rec.name, `Domain id=${rec.domainId ?? '?'} is tainted: custom-monitor (by ${caller})`);
    }
    return vm.monitor.call(command.execute, command.arguments);
  }

  async injectNmi(ref: string): Promise<void> {
    const rec = this.lookup(ref);
    await this.requireRunning(rec).monitor.injectNmi();
  }

  // ---- memory (the balloon) ----

  /** `dommemstat`. */
  async memoryStats(ref: string): Promise<MemoryStat[]> {
    return memoryStats(this.requireRunning(this.lookup(ref)));
  }

  /** `dommemstat --period N`. */
  async setMemoryStatsPeriod(ref: string, period: number, scope: ChangeScope): Promise<void> {
    await setStatsPeriod(this, this.lookup(ref).uuid, period, scope);
  }

  /** `setmem`. */
  async setMemory(ref: string, kib: number, scope: ChangeScope): Promise<void> {
    await setMemory(this, this.lookup(ref).uuid, kib, scope);
  }

  info(ref: string): DomainInfo {
    const rec = this.lookup(ref);
    return domainInfo(rec, this.registry.get(rec.uuid), this.saves.has(rec.uuid));
  }

  nodeInfo(): NodeInfo {
    return readNodeInfo();
  }

  /** The CPU models this host's QEMU runs under its accelerator, and the host CPU's features (hypervisor-cpu-compare/-baseline). */
  cpuCatalog(): Promise<CpuCatalog> {
    return this.deps.caps.cpuCatalog(this.deps.qemuBinary);
  }

  version(): Promise<VersionInfo> {
    return hostVersion(this.deps.caps, { qemuBinary: this.deps.qemuBinary, hostname: this.deps.hostname });
  }

  /** Copies files a running domain's QEMU must read (its unprivileged user cannot reach the originals) into its run directory; returns the copy's directory. */
  stageForQemu(uuid: string, name: string, files: string[]): string {
    return this.deps.launcher.stage(uuid, name, files);
  }

  /** Lets a running domain's QEMU open files it is about to be given (a block copy's target). */
  grantToQemu(files: QemuFile[]): void {
    this.deps.launcher.grant(files);
  }

  /** Where a disk's data is on this host, as QEMU's command line gets it. */
  resolveDisk(disk: DiskDefinition): ResolvedDiskSource {
    return this.deps.launcher.resolve(disk);
  }

  /** The path of a disk's data on this host (volumes resolved through their pool). */
  diskPath(disk: DiskDefinition): string | undefined {
    return this.deps.launcher.diskPath(disk);
  }

  /** The version of the QEMU binary a domain runs with (as the binary reports it). */
  async qemuVersion(uuid: string): Promise<QemuVersion> {
    const def = this.definition(uuid);
    return (await this.deps.caps.binary(this.deps.launcher.binaryFor(def))).version;
  }

  /** The accelerator a domain runs (or would run) with. */
  async domainAccel(uuid: string): Promise<'kvm' | 'tcg'> {
    const def = this.definition(uuid);
    if (def.type === 'qemu') return 'tcg';
    return (await this.deps.caps.accel(this.deps.launcher.binaryFor(def))).accel;
  }

  // ---- the migration code's port: HostService is the MigrationHost of src/migration/migration-host.ts (structurally,
  // so host/ does not import migration/; daemon/compose.ts hands it over as one) ----

  domainRecord(uuid: string): DomainRecord | undefined {
    return this.deps.store.get(uuid);
  }

  domainNamed(name: string): DomainRecord | undefined {
    return this.deps.store.findByName(name);
  }

  saveDefinition(input: { uuid: string; name: string; persistentXml: string | null }): DomainRecord {
    return this.deps.store.saveDefinition(input);
  }

  markStopped(uuid: string, reason: string): void {
    this.deps.store.markStopped(uuid, reason);
  }

  beginMigrationJob(uuid: string, job: Extract<AsyncJobName, 'migration out' | 'migration in'>): Promise<() => void> {
    return this.deps.jobs.beginAsync(uuid, job);
  }

  leasesEnabled(): boolean {
    return this.deps.locks.enabled;
  }

  leasesOf(def: DomainDefinition): Promise<Lease[]> {
    return this.deps.locks.leases(def);
  }

  acquireLeases(owner: LeaseOwner, leases: Lease[]): Promise<void> {
    return this.deps.locks.acquireLeases(owner, leases);
  }

  handOverLeases(uuid: string): Promise<Lease[]> {
    return this.deps.locks.release(uuid);
  }

  /** Who holds a lease on `resource` (on this host, or anywhere the lock manager knows). */
  leaseHolder(resource: string): Promise<{ here?: LeaseOwner; anywhere: boolean }> {
    return this.deps.locks.driver.held(resource);
  }

  /** @deprecated The domain store, for the host's own collaborators (src/host); migration code uses MigrationHost. */
  get store(): DomainStore {
    return this.deps.store;
  }

  /** @deprecated The job lock, for the host's own collaborators (src/host); migration code uses MigrationHost. */
  get jobs(): DomainJobs {
    return this.deps.jobs;
  }

  /** @deprecated The leases, for the host's own collaborators and src/locking; migration code uses MigrationHost. */
  get locks(): VmLocks {
    return this.deps.locks;
  }

  private requireRunning(rec: DomainRecord): RunningDomain {
    return this.registry.require(rec);
  }

  /** Where a domain's NVRAM is kept on this host when its definition names no path (STATE_DIR/nvram/NAME_VARS.fd). */
  defaultNvramPath(name: string, format: 'raw' | 'qcow2'): string {
    return this.deps.launcher.defaultNvramPath(name, format);
  }

  publish(event: DomainEvent): void {
    this.events.append(event);
    this.emit('domain', event);
  }
}
