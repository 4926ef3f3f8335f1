import { EventLog } from './event-log.js';
import type { CpuCatalog } from '../qemu/cpu-catalog.js';
import { existsSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { diskNodeNames, type ResolvedDiskSource } from '../qemu/argv.js';
import { formatVersion, type QemuVersion, resolveMachineType } from '../qemu/binary.js';
import type { DomainRecord, DomainStore, DomainSummary } from '../store/domain-store.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import { type DomainStatus, isActiveState } from '../vm/domain-state.js';
import { applyDiskEdit, type DiskEdit } from '../vm/disk-edit.js';
import { classifyDomainRef } from '../vm/identifiers.js';
import { asyncJob, type AsyncJobName, type DomainJobs } from '../vm/jobs.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { nvramPathOf, removeNvram } from './nvram-store.js';
import { withoutSecrets } from '../vm/secure-xml.js';
import { LargeXmlTurns } from './large-xml-turns.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import type { DomainLauncher } from './domain-launcher.js';
import { ManagedSaveImages, type ManagedSaveOptions } from './managed-save.js';
import { type DisplayUri, displayUris, vncDisplay } from '../vm/display-uri.js';
import type { DomainEvent, HostEvents } from './domain-events.js';
import { applyBalloonSettings, type ChangeScope, type MemoryStat, memoryStats, setMemory, setStatsPeriod } from './memory-balloon.js';
import { processCpuSeconds, processDacLabel, readNodeInfo, type NodeInfo } from './node-info.js';
import type { QemuCapabilities } from './qemu-capabilities.js';
import { RunningDomain } from './running-domain.js';
import { pauseVcpus, resumeVcpus } from './vcpu-pause.js';
import { VcpuControl } from './vcpu-control.js';
import { CgroupTuning } from './cgroup-tuning.js';
import { TuningControl } from './tuning-control.js';
import { currentVcpus } from '../vm/vcpus.js';
import { syncGuestClock } from './guest-clock.js';
import type { GuestAgent } from '../agent/guest-agent.js';
import type { QemuFile } from './qemu-file-access.js';
import type { VmLocks } from '../locking/vm-locks.js';
import { emulatedTpm } from './swtpm.js';
import type { Lease, LeaseOwner } from '../locking/lease.js';

/** What happens to an emulated TPM's state when its domain is undefined: virsh undefine --keep-tpm / --tpm. */
export type TpmStatePolicy = 'keep' | 'remove';

export { FERRY_VERSION } from '../shared/version.js';
import { FERRY_VERSION } from '../shared/version.js';

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

export interface DomainInfo {
  id: number | null;
  name: string;
  uuid: string;
  osType: 'hvm';
  state: DomainStatus['state'];
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

/**
 * The one entry to a host's core: every API route and, later, the migration
 * code go through here. It owns the running domains and keeps the store in step.
 */
export class HostService extends EventEmitter<HostEvents> {
  private readonly running = new Map<string, RunningDomain>();
  /** --keep-tpm / --tpm given when a running domain was undefined: applied when it stops. */
  private readonly tpmOnStop = new Map<string, TpmStatePolicy>();
  /** A stopped domain's cleanup (run dir, taps, helpers) still under way: its next launch waits for it. */
  private readonly cleanups = new Map<string, Promise<void>>();
  private readonly now: () => number;
  private readonly largeXml = new LargeXmlTurns();
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
    this.now = deps.now ?? Date.now;
    this.saves = new ManagedSaveImages({ paths: deps.launcher.paths, account: deps.launcher.qemuAccount, log: deps.log });
  }

  // ---- lookup ----

  /** Finds a domain by id, uuid or name, in virsh's order. */
  lookup(ref: string): DomainRecord {
    const { store } = this.deps;
    const c = classifyDomainRef(ref);
    const found =
      (c.kind === 'id' ? store.findById(c.id) : undefined) ??
      (c.kind === 'uuid' ? store.get(c.uuid) : undefined) ??
      store.findByName(ref);
    if (!found) {
      throw new FerryError('DOMAIN_NOT_FOUND', `Domain not found: no domain with matching name '${ref}'`, { details: { domain: ref } });
    }
    return found;
  }

  list(options: { all?: boolean; inactive?: boolean } = {}): Array<DomainSummary & { managedSave: boolean }> {
    const all = this.deps.store.list();
    const listed = options.inactive ? all.filter((d) => !isActiveState(d.state)) : options.all ? all : all.filter((d) => isActiveState(d.state));
    // Only a shut-off domain can have a managed save image (list --with-managed-save, --managed-save).
    return listed.map((d) => ({ ...d, managedSave: d.state === 'shutoff' && this.saves.has(d.uuid) }));
  }

  runningDomain(uuid: string): RunningDomain | undefined {
    return this.running.get(uuid);
  }

  // ---- definitions ----

  /** Defines (or redefines) a persistent domain from XML. */
  async define(xml: string): Promise<DomainRecord> {
    // A large document is parsed and rendered in its turn, the event loop served between the steps.
    const { def, rendered } = await this.largeXml.run(xml, async (step) => {
      await step();
      const parsed = await this.canonical(parseDomainXml(xml));
      await step();
      const text = renderDomainXml(parsed);
      await step();
      return { def: parsed, rendered: text };
    });
    return this.deps.jobs.run(def.uuid, 'define', async () => {
      const rec = this.deps.store.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: rendered });
      this.publish({ type: 'domain.defined', uuid: rec.uuid, name: rec.name, at: this.now() });
      return rec;
    });
  }

  /**
   * Undefines a domain; a running one becomes transient and goes away when it stops.
   * An emulated TPM's state goes with the definition unless persistent_state='yes'
   * (virsh undefine --keep-tpm keeps it, --tpm removes it regardless). A UEFI variable store that exists
   * must be named: --nvram removes it, --keep-nvram keeps it (libvirt's rule).
   */
  async undefine(ref: string, options: { tpm?: TpmStatePolicy; nvram?: 'remove' | 'keep'; managedSave?: boolean } = {}): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'undefine', async () => {
      if (rec.persistentXml === null) {
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot undefine transient domain');
      }
      // As virsh: a managed save image goes only with --managed-save.
      if (this.saves.has(rec.uuid)) {
        if (!options.managedSave) throw new FerryError('MANAGED_SAVE_EXISTS', 'Requested operation is not valid: Refusing to undefine while domain managed save image exists');
        this.saves.remove(rec.uuid);
      }
      // As libvirt: a domain whose UEFI variable store exists is undefined only with --nvram (removed) or --keep-nvram.
      const nvram = nvramPathOf(parseDomainXml(rec.persistentXml));
      if (nvram !== undefined && existsSync(nvram)) {
        if (options.nvram === undefined) {
          throw new FerryError('OPERATION_INVALID', `Requested operation is not valid: cannot undefine domain with nvram (${nvram}): use --nvram to remove it or --keep-nvram to keep it`);
        }
        if (options.nvram === 'remove' && !this.running.has(rec.uuid)) removeNvram(nvram);
      }
      this.undefineRecord(rec.uuid, options.tpm);
      this.publish({ type: 'domain.undefined', uuid: rec.uuid, name: rec.name, at: this.now() });
      return rec;
    });
  }

  /**
   * Removes a domain's persistent definition from the store (undefine, a
   * migration's --undefinesource) and, once nothing of the domain is left
   * here, its emulated TPM's state (the TPM policy of a running domain applies
   * when it stops).
   */
  undefineRecord(uuid: string, tpm?: TpmStatePolicy): void {
    const rec = this.deps.store.get(uuid);
    const def = rec?.persistentXml ? parseDomainXml(rec.persistentXml) : undefined;
    const outcome = this.deps.store.undefine(uuid);
    if (outcome === 'transient') {
      if (tpm) this.tpmOnStop.set(uuid, tpm);
      return;
    }
    if (def) this.dropTpmState(def, tpm);
  }

  /** Removes a domain's emulated TPM state: asked (--tpm), or by default unless persistent_state='yes' or --keep-tpm. */
  private dropTpmState(def: DomainDefinition, tpm: TpmStatePolicy | undefined): void {
    const b = emulatedTpm(def);
    if (!b || tpm === 'keep' || (tpm !== 'remove' && b.persistentState === true)) return;
    try {
      this.deps.launcher.swtpm.removeState(def);
    } catch (err) {
      this.deps.log.warn({ err, vm: def.name }, 'cannot remove the TPM state');
    }
  }

  /** The emulated TPM state's files, for an offline migration. */
  tpmState(def: DomainDefinition): Record<string, string> {
    return this.deps.launcher.swtpm.readState(def);
  }

  /** Keeps the emulated TPM state an offline migration brought. */
  receiveTpmState(def: DomainDefinition, files: Record<string, string>): void {
    this.deps.launcher.swtpm.writeState(def, files);
  }

  /** Starts a transient domain from XML (virsh create). */
  async create(xml: string, options: { paused?: boolean } = {}): Promise<DomainRecord> {
    const def = await this.largeXml.run(xml, async (step) => {
      await step();
      return this.canonical(parseDomainXml(xml));
    });
    if (this.deps.store.get(def.uuid) || this.deps.store.findByName(def.name)) {
      const other = this.deps.store.findByName(def.name) ?? this.deps.store.get(def.uuid);
      throw new FerryError('DOMAIN_EXISTS', `operation failed: domain '${other?.name}' already exists with uuid ${other?.uuid}`);
    }
    return this.deps.jobs.run(def.uuid, 'create', async () => {
      this.deps.store.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: null });
      try {
        await this.launch(def, options.paused ?? false);
      } catch (err) {
        this.deps.store.markStopped(def.uuid, 'failed');
        throw err;
      }
      return this.lookup(def.uuid);
    });
  }

  /**
   * virsh domdisplay / vncdisplay: the running domain's displays as URIs, from
   * its live definition (the ports and addresses it got at start), passwords
   * only with `password` (which the API allows read-write callers only).
   */
  displays(ref: string, options: { type?: 'vnc' | 'spice'; password?: boolean } = {}): { uris: DisplayUri[]; vnc?: string } {
    const rec = this.lookup(ref);
    if (rec.liveXml === null) throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
    const graphics = (this.running.get(rec.uuid)?.def ?? parseDomainXml(rec.liveXml)).devices.graphics.filter((g) => !options.type || g.type === options.type);
    const uris = displayUris(graphics, { password: options.password ?? false });
    if (uris.length === 0) throw new FerryError('DISPLAY_NOT_FOUND', 'No graphical display found');
    const vnc = vncDisplay(graphics);
    return { uris, ...(vnc === undefined ? {} : { vnc }) };
  }

  /** virsh dumpxml: secrets (a <graphics> passwd) only with `secure` (--security-info), which the API allows read-write callers only. */
  dumpXml(ref: string, options: { inactive?: boolean; secure?: boolean } = {}): string {
    const rec = this.lookup(ref);
    const xml = rec.liveXml !== null && !options.inactive
      ? renderDomainXml(parseDomainXml(rec.liveXml), rec.domainId === null ? {} : { id: rec.domainId })
      : rec.persistentXml ?? (rec.liveXml as string);
    return options.secure ? xml : withoutSecrets(xml);
  }

  /** The seed's `virt-xml VM --edit --disk target=vda,cache=none`: edits the persistent definition. */
  async editDisk(ref: string, target: string, edit: DiskEdit): Promise<{ record: DomainRecord; active: boolean }> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'disk-edit', async () => {
      if (rec.persistentXml === null) {
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: transient domains do not have any persistent config');
      }
      const def = applyDiskEdit(parseDomainXml(rec.persistentXml), target, edit);
      const record = this.deps.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(def) });
      return { record, active: rec.liveXml !== null };
    });
  }

  definition(ref: string, options: { inactive?: boolean } = {}): DomainDefinition {
    const rec = this.lookup(ref);
    const xml = options.inactive ? rec.persistentXml ?? rec.liveXml : rec.liveXml ?? rec.persistentXml;
    return parseDomainXml(xml as string);
  }

  // ---- lifecycle ----

  async start(ref: string, options: { paused?: boolean; forceBoot?: boolean } = {}): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'start', async () => {
      const current = this.lookup(rec.uuid);
      if (current.liveXml !== null) {
        throw new FerryError('DOMAIN_ALREADY_RUNNING', 'Requested operation is not valid: domain is already running');
      }
      const def = parseDomainXml(current.persistentXml as string);
      // A managed save image brings the domain back where it was saved; --force-boot discards it (virsh start).
      if (options.forceBoot) this.saves.remove(rec.uuid);
      if (this.saves.has(rec.uuid)) await this.restore(def, options.paused ?? false);
      else await this.launch(def, options.paused ?? false);
      return this.lookup(rec.uuid);
    });
  }

  /** virsh managedsave: the running (or paused) domain's state to its image, then QEMU ends (shut off, saved). */
  async managedSave(ref: string, options: ManagedSaveOptions = {}): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    // An async job, as libvirt's: while QEMU writes the image, only query, abort and destroy may run beside it.
    return this.deps.jobs.run(rec.uuid, 'managedsave', async () => {
      if (rec.persistentXml === null) {
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot do managed save for transient domain');
      }
      const vm = this.requireRunning(rec);
      await this.saves.save(vm, options);
      // QEMU ends as after a shutdown: leases released, run directory and helpers cleaned up.
      await vm.destroy('saved');
      return this.lookup(rec.uuid);
    }, { async: asyncJob('managedsave') });
  }

  /** virsh managedsave-remove: false when the domain had no image. */
  async managedSaveRemove(ref: string): Promise<boolean> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'managedsave-remove', async () => this.saves.remove(rec.uuid));
  }

  /** Starts a domain from its managed save image; the image goes once QEMU has all of it. */
  private async restore(def: DomainDefinition, paused: boolean): Promise<void> {
    const vm = await this.launchDomain(def, { incoming: true, restore: true, status: { state: 'paused', reason: 'starting up' } });
    try {
      await this.saves.restore(vm);
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
    const resume = !paused && this.saves.resumes(def.uuid);
    this.saves.remove(def.uuid);
    if (!resume) {
      vm.setStatus({ state: 'paused', reason: 'user' });
      return;
    }
    try {
      vm.expectResume('restored');
      await vm.monitor.cont();
      vm.setStatus({ state: 'running', reason: 'restored' });
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
  }

  /**
   * Sends the ACPI power button (mode 'acpi'), or asks the guest agent to power down
   * (mode 'agent'); the domain shuts off when the guest powers down.
   */
  async shutdown(ref: string, mode: 'acpi' | 'agent' = 'acpi'): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'shutdown', async () => {
      const vm = this.requireRunning(rec);
      if (mode === 'agent') await (await vm.agent.agent()).shutdown('powerdown');
      else await vm.monitor.systemPowerdown();
      return rec;
    });
  }

  /** The running domain's guest agent: AGENT_NOT_CONFIGURED without a channel, AGENT_UNRESPONSIVE while the guest has it closed. */
  async guestAgent(ref: string): Promise<GuestAgent> {
    return this.requireRunning(this.lookup(ref)).agent.agent();
  }

  async destroy(ref: string): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    // destroy may interrupt any job but a migration's critical section (libvirt's destroy is not a normal job).
    const vm = this.requireRunning(rec);
    await vm.destroy('destroyed');
    return rec;
  }

  async reboot(ref: string): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'reboot', async () => {
      await this.requireRunning(rec).reboot();
      return rec;
    });
  }

  async reset(ref: string): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'reset', async () => {
      await this.requireRunning(rec).monitor.systemReset();
      return rec;
    });
  }

  async suspend(ref: string): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'suspend', async () => {
      await pauseVcpus(this.requireRunning(rec), 'user');
      return this.lookup(rec.uuid);
    });
  }

  /**
   * on_lockfailure = pause: stops the vCPUs at once, whatever job runs (the
   * domain lost a disk lease to another holder and must not write).
   */
  async pauseForLockFailure(uuid: string): Promise<void> {
    const vm = this.runningDomain(uuid);
    if (vm) await pauseVcpus(vm, 'lock failure');
  }

  /**
   * Undoes pauseForLockFailure once the leases are held again: resumes the
   * vCPUs only if the domain is still paused for that reason (not by a user
   * or an I/O error meanwhile).
   */
  async resumeAfterLockFailure(uuid: string): Promise<boolean> {
    const vm = this.runningDomain(uuid);
    if (!vm || vm.status.state !== 'paused' || vm.status.reason !== 'lock failure') return false;
    await resumeVcpus(vm);
    return true;
  }

  async resume(ref: string): Promise<DomainRecord> {
    const rec = this.lookup(ref);
    return this.deps.jobs.run(rec.uuid, 'resume', async () => {
      const vm = this.requireRunning(rec);
      if (vm.status.state === 'paused' || vm.status.state === 'crashed') {
        // Its leases first: a domain paused because it lost one runs again only once it holds them all.
        await this.deps.locks.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, await this.deps.locks.leases(vm.def));
        await resumeVcpus(vm);
        // The guest's clock stood still while it was paused (best effort, through the agent).
        await syncGuestClock(vm, { log: this.deps.log, why: 'resumed', waitOpenMs: 0 });
      }
      return this.lookup(rec.uuid);
    });
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
    const hmp = command.execute === 'human-monitor-command' ? String(command.arguments?.['command-line'] ?? '').trim().split(/\s+/)[0] : undefined;
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

  // ---- queries ----

  info(ref: string): DomainInfo {
    const rec = this.lookup(ref);
    const def = parseDomainXml((rec.liveXml ?? rec.persistentXml) as string);
    const vm = this.running.get(rec.uuid);
    return {
      id: rec.domainId,
      name: rec.name,
      uuid: rec.uuid,
      osType: 'hvm',
      state: rec.state,
      reason: rec.reason,
      vcpus: currentVcpus(def),
      cpuTimeSeconds: vm ? processCpuSeconds(vm.pid) ?? null : null,
      maxMemoryKiB: def.memoryKiB,
      usedMemoryKiB: vm ? def.currentMemoryKiB : def.currentMemoryKiB,
      persistent: rec.persistentXml !== null,
      autostart: rec.autostart,
      securityLabel: rec.pid !== null && rec.liveXml !== null ? processDacLabel(rec.pid) ?? null : null,
      taints: rec.taints,
      managedSave: this.saves.has(rec.uuid),
    };
  }

  nodeInfo(): NodeInfo {
    return readNodeInfo();
  }

  /** The CPU models this host's QEMU runs under its accelerator, and the host CPU's features (hypervisor-cpu-compare/-baseline). */
  cpuCatalog(): Promise<CpuCatalog> {
    return this.deps.caps.cpuCatalog(this.deps.qemuBinary);
  }

  async version(): Promise<VersionInfo> {
    const path = this.deps.qemuBinary;
    const base = { ferry: FERRY_VERSION, qemuBinary: path, hostname: this.deps.hostname };
    try {
      const [info, accel] = await Promise.all([this.deps.caps.binary(path), this.deps.caps.accel(path)]);
      return { ...base, qemu: formatVersion(info.version), qemuPackage: info.package, accel: accel.accel, accelReason: accel.reason };
    } catch (err) {
      return { ...base, qemu: null, qemuPackage: null, accel: null, accelReason: (err as Error).message };
    }
  }

  // ---- running domains ----

  /** A line in the domain's log (beside QEMU's own output), as libvirt notes events there. */
  noteInDomainLog(name: string, line: string): void {
    this.deps.launcher.appendToDomainLog(name, line);
  }

  /** Takes over a QEMU found running after a ferryd restart. */
  adopt(vm: RunningDomain): void {
    // When it stops, what its launch created goes as for any other (its cgroup, dbus-daemon, taps, run directory).
    this.track(vm, async () => {
      await this.removeCgroup(vm);
      await this.deps.launcher.cleanup(vm.def);
    });
  }

  /** A stopped domain's cgroup goes (its QEMU has exited); a failure is logged, never fatal. */
  private async removeCgroup(vm: RunningDomain): Promise<void> {
    try {
      await this.cgroups.remove(vm.uuid, vm.pid);
    } catch (err) {
      this.deps.log.warn({ err, vm: vm.name }, 'removing the domain cgroup failed');
    }
  }

  /** Stops following every QEMU; they keep running (ferryd shutting down). */
  detachAll(): void {
    for (const vm of this.running.values()) vm.detach();
    this.running.clear();
  }

  private async launch(def: DomainDefinition, paused: boolean): Promise<void> {
    const vm = await this.launchDomain(def, { status: { state: 'paused', reason: 'starting up' } });
    try {
      // A cdrom or floppy defined with <target tray='open'> starts with its tray open.
      for (const d of vm.def.devices.disks) {
        if (d.tray === 'open') await vm.monitor.call('blockdev-open-tray', { id: diskNodeNames(d.target.dev).device, force: true });
      }
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
    if (paused) {
      vm.setStatus({ state: 'paused', reason: 'user' });
      return;
    }
    try {
      vm.expectResume('booted');
      await vm.monitor.cont();
      vm.setStatus({ state: 'running', reason: 'booted' });
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
  }

  /**
   * Launches QEMU for a definition (paused, -S), records the domain as running
   * with the given status and follows it. With `incoming`, QEMU waits for a migration.
   */
  async launchDomain(def: DomainDefinition, options: { status: DomainStatus; incoming?: boolean; restore?: boolean }): Promise<RunningDomain> {
    const { locks } = this.deps;
    // The last run's cleanup first: it removes the run directory this launch is about to fill.
    await this.cleanups.get(def.uuid);
    // A <lease> needs a lock manager here, also on a migration's destination (refused at Prepare).
    locks.assertCanHold(def);
    // The leases come first, held for ferryd until QEMU exists (an incoming domain gets them at Finish;
    // a restore from a managed save image, incoming from a file, takes them now as a start does).
    const leasesNow = !options.incoming || options.restore === true;
    if (leasesNow) await locks.acquire(def, process.pid);
    let launched: Awaited<ReturnType<DomainLauncher['launch']>>;
    try {
      launched = await this.deps.launcher.launch(def, options.incoming || options.restore ? { incoming: true } : {});
      if (leasesNow) await locks.setPid(def.uuid, launched.process.pid);
    } catch (err) {
      if (leasesNow) await locks.release(def.uuid);
      throw err;
    }
    const log = this.deps.log.child({ vm: def.name });
    const vm = new RunningDomain({
      uuid: def.uuid,
      name: def.name,
      def: launched.live,
      process: launched.process,
      monitor: launched.monitor,
      status: options.status,
      accel: launched.accel,
      qemuVersion: launched.binary.version,
      log,
    });
    try {
      const domainId = this.deps.store.markRunning(def.uuid, {
        liveXml: renderLiveXml(launched.live),
        pid: launched.process.pid,
        state: options.status.state,
        reason: options.status.reason,
        startedAt: this.now(),
      });
      // libvirt's custom-argv: QEMU runs <qemu:commandline> arguments or environment ferry cannot vouch for.
      if (launched.live.qemuCommandline && this.deps.store.taint(def.uuid, 'custom-argv')) {
        log.warn({ taint: 'custom-argv' }, 'domain is tainted: custom-argv (<qemu:commandline>)');
        this.deps.launcher.appendToDomainLog(def.name, `Domain id=${domainId} is tainted: custom-argv`);
      }
    } catch (err) {
      await launched.process.terminate();
      await this.deps.launcher.cleanup(launched.live);
      throw err;
    }
    this.track(vm, async () => {
      await this.removeCgroup(vm);
      await this.deps.launcher.cleanup(launched.live);
    });
    try {
      await this.vcpus.applyPinning(vm);
      await this.cgroups.apply(vm);
      await applyBalloonSettings(vm);
    } catch (err) {
      await vm.destroy('failed');
      throw err;
    }
    log.info({ pid: vm.pid, accel: launched.accel, qemu: formatVersion(launched.binary.version), incoming: options.incoming ?? false }, 'QEMU launched');
    return vm;
  }

  /** The definition as it travels to another host: without this host's log paths and tap names. */
  portableDefinition(uuid: string): DomainDefinition {
    const vm = this.running.get(uuid);
    const rec = this.deps.store.get(uuid);
    const live = vm?.def ?? parseDomainXml((rec?.liveXml ?? rec?.persistentXml) as string);
    return this.deps.launcher.portable(live);
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

  private track(vm: RunningDomain, cleanup: () => Promise<void> | void): void {
    this.running.set(vm.uuid, vm);
    vm.on('status', (s) => {
      if (this.running.get(vm.uuid) !== vm) return;
      this.deps.store.setState(vm.uuid, s.state, s.reason);
      this.publish({ type: 'domain.lifecycle', uuid: vm.uuid, name: vm.name, state: s.state, reason: s.reason, at: this.now() });
    });
    vm.on('panicked', (info) => this.publish({ type: 'domain.panicked', uuid: vm.uuid, name: vm.name, info, at: this.now() }));
    vm.on('watchdog', (action) => this.publish({ type: 'domain.watchdog', uuid: vm.uuid, name: vm.name, action, at: this.now() }));
    vm.coreDumper = (reason) => this.deps.launcher.dumps.write({ name: vm.name, domainId: this.deps.store.get(vm.uuid)?.domainId ?? undefined, monitor: vm.monitor }, reason);
    // Where a dump went (or why it failed) is written to the domain's log, where libvirt users look for it.
    vm.on('coredump', ({ reason, path, error }) => this.deps.launcher.appendToDomainLog(vm.name, path ? `core dump (${reason}) written to ${path}` : `core dump (${reason}) failed: ${error ?? 'unknown error'}`));
    vm.on('stopped', ({ reason, restart }) => {
      if (this.running.get(vm.uuid) === vm) this.running.delete(vm.uuid);
      void this.deps.locks.release(vm.uuid);
      const transient = this.deps.store.get(vm.uuid)?.persistentXml === null;
      this.deps.store.markStopped(vm.uuid, reason);
      // A transient domain leaves nothing behind, its TPM state included (libvirt's persistent_state keeps it),
      // once its swtpm is gone.
      const tpm = this.tpmOnStop.get(vm.uuid);
      this.tpmOnStop.delete(vm.uuid);
      const gone = transient && this.deps.store.get(vm.uuid) === undefined;
      const done = Promise.resolve(cleanup())
        .catch((err) => this.deps.log.warn({ err, vm: vm.name }, 'cleanup after stop failed'))
        .then(() => { if (gone && this.deps.store.get(vm.uuid) === undefined) this.dropTpmState(vm.def, tpm); });
      this.cleanups.set(vm.uuid, done);
      void done.finally(() => { if (this.cleanups.get(vm.uuid) === done) this.cleanups.delete(vm.uuid); });
      this.publish({ type: 'domain.lifecycle', uuid: vm.uuid, name: vm.name, state: 'shutoff', reason, at: this.now() });
      if (restart) {
        void this.start(vm.uuid).catch((err) => this.deps.log.error({ err, vm: vm.name }, 'restart after crash failed'));
      }
    });
  }

  private requireRunning(rec: DomainRecord): RunningDomain {
    const vm = this.running.get(rec.uuid);
    if (vm) return vm;
    const now = this.deps.store.get(rec.uuid);
    if (now?.liveXml != null) {
      throw new FerryError('QEMU_UNREACHABLE', `cannot reach the monitor of domain '${rec.name}': its QEMU (pid ${now.pid ?? '?'}) still runs, and ferryd keeps trying to reach it`, {
        details: { domain: rec.name, pid: now.pid },
      });
    }
    throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
  }

  /** Where a domain's NVRAM is kept on this host when its definition names no path (STATE_DIR/nvram/NAME_VARS.fd). */
  defaultNvramPath(name: string, format: 'raw' | 'qcow2'): string {
    return this.deps.launcher.defaultNvramPath(name, format);
  }

  /** Expands the machine alias (q35 → pc-q35-10.0) when the QEMU binary can be asked. */
  private async canonical(written: DomainDefinition): Promise<DomainDefinition> {
    // A network's bridge is decided on each host at start (libvirt ignores bridge= of type='network' when defining).
    const interfaces = written.devices.interfaces.map((i) => (i.type === 'network' ? { ...i, source: { network: i.source.network as string } } : i));
    const def: DomainDefinition = { ...written, devices: { ...written.devices, interfaces } };
    // placement='auto' is advised at each start (libvirt ignores a nodeset/cpuset beside it when defining).
    delete def.numaAdvice;
    try {
      const info = await this.deps.caps.binary(this.deps.launcher.binaryFor(def));
      const machine = resolveMachineType(info, def.os.machine);
      if (machine === undefined) {
        throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: Emulator '${info.path}' does not support machine type '${def.os.machine}'`);
      }
      return this.deps.launcher.completeFirmware({ ...def, os: { ...def.os, machine } });
    } catch (err) {
      if (err instanceof FerryError && (err.code === 'XML_UNSUPPORTED' || err.code.startsWith('FIRMWARE_'))) throw err;
      return def; // QEMU missing here: keep the definition as written; start will say what is wrong.
    }
  }

  publish(event: DomainEvent): void {
    this.events.append(event);
    this.emit('domain', event);
  }
}
