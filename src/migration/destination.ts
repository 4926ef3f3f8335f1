import { syncGuestClock } from '../host/guest-clock.js';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import type { RunningDomain } from '../host/running-domain.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { PrepareReply, WireFinishRequest } from '../shared/peer-protocol/migration-messages.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { receiveNvram, withNvramPath, withNvramPathXml } from './nvram-transfer.js';
import type { CommandRunner } from '../storage/command-runner.js';
import { startNbdServer } from '../storage/nbd-copy.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import { BlockMonitor } from '../qemu/block-monitor.js';
import { type MigrationCookie, validateCookie } from './cookie.js';
import { advertisedDataHost } from './data-host.js';
import { formatTcpUri } from './migration-uri.js';
import { waitIncoming } from './wait-incoming.js';
import { createDiskTargets, removeFiles } from './disk-plan.js';
import { addMigrationTlsCreds, assertTlsAllowed, type MigrationTlsConfig, removeMigrationTlsCreds, tlsParameters } from './migration-tls.js';
import type { Phase } from './phases.js';
import { type LedgerRecord, ledgerFor, type MigrationLedger } from './migration-ledger.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import type { PortAllocator } from '../system/port-allocator.js';
import type { DestinationDisplay } from './graphics-uri.js';
import { agreePreempt, withPostcopyCapabilities } from './postcopy/preempt.js';

/** Prepare's reply: the peer protocol's (shared/peer-protocol/migration-messages.ts). */
export type PrepareResult = PrepareReply;

/** Finish's request as the destination reads it: the wire's, with a missing persistentXml read as null (peer-migrations.ts). */
export type FinishRequest = Omit<WireFinishRequest, 'persistentXml'> & { persistentXml: string | null };

export interface DestinationDeps {
  host: MigrationHost;
  storage: StorageService;
  qemuImg: QemuImg;
  run: CommandRunner;
  /** Where qemu-nbd pid files go (offline storage copies). */
  runDir: string;
  migrations: MigrationStore;
  /** The records' owner; by default one over `migrations`, announcing through `host`. */
  ledger?: MigrationLedger;
  ports: PortAllocator;
  hostId: string;
  hostname: string;
  /** Where incoming migration streams are accepted unless the source asks otherwise. */
  migrationAddress: string;
  /** The host sources are told to send migration data to (libvirt's migration_host); empty: see advertisedDataHost(). */
  migrationHost?: string;
  /** tls_dir (the incoming QEMU's server credentials) and migrate_tls_force (plain migrations refused). */
  tls: MigrationTlsConfig;
  /** Where finished incoming migrations are counted. */
  metrics?: MigrationMetrics;
  log: Logger;
  now?: () => number;
}

interface Incoming {
  vm: RunningDomain | undefined;
  ports: number[];
  release: () => void;
}

/**
 * The destination side of a migration: Prepare starts QEMU waiting for the
 * stream, Finish resumes it (or leaves it paused), Abort removes it. Each
 * step is recorded before it acts; Finish and Abort exclude each other, so the
 * VM is either resumed here or discarded, never both.
 */
export class MigrationDestination {
  private readonly incoming = new Map<string, Incoming>();
  private readonly ledger: MigrationLedger;

  constructor(private readonly deps: DestinationDeps) {
    this.ledger = deps.ledger ?? ledgerFor(deps);
  }

  async prepare(cookieValue: unknown): Promise<PrepareResult> {
    const cookie = validateCookie(cookieValue);
    const { host } = this.deps;
    const ledger = this.ledger;
    const def = parseDomainXml(cookie.domain.xml);
    if (def.uuid !== cookie.domain.uuid || def.name !== cookie.domain.name) {
      throw new FerryError('MIG_PEER_REFUSED', 'operation failed: migration cookie does not match the domain definition');
    }
    assertTlsAllowed(cookie, this.deps.tls, this.deps.hostname);
    const log = this.deps.log.child({ vm: def.name, migration: cookie.migrationId, side: 'destination' });
    const release = await host.beginMigrationJob(def.uuid, 'migration in');
    ledger.begin({
      id: cookie.migrationId,
      side: 'destination',
      uuid: def.uuid,
      name: def.name,
      phase: 'Prepare',
      peer: cookie.source.peerUri ?? cookie.source.hostname,
      options: { ...cookie.flags },
      data: { sourceHostId: cookie.source.hostId },
    });
    let vm: RunningDomain | undefined;
    const ports: number[] = [];
    /** The files this Prepare created (copied disks, the NVRAM), for a failure to remove. */
    const made: { created: string[] } = { created: [] };
    const nbdPids: number[] = [];
    const address = cookie.listen?.address ?? this.deps.migrationAddress;
    const connectHost = advertisedDataHost(this.deps.migrationHost ?? '', address);
    const advertised = connectHost ? { connectHost } : {};
    try {
      const existing = host.domainRecord(def.uuid);
      const sameName = host.domainNamed(def.name);
      if (sameName && sameName.uuid !== def.uuid) {
        throw new FerryError('DOMAIN_EXISTS', `operation failed: domain '${def.name}' already exists with uuid ${sameName.uuid}`);
      }
      if (existing?.liveXml) throw new FerryError('DOMAIN_ALREADY_RUNNING', `operation failed: domain '${def.name}' is already active`);
      const { launchDef, nvramShared } = await this.receiveFiles(cookie, def, made, log);
      if (cookie.flags.offline) {
        const nbd = await this.serveOffline(cookie, made.created, address, ports, nbdPids);
        this.incoming.set(cookie.migrationId, { vm: undefined, ports, release });
        log.info({ disks: nbd.length }, 'offline migration prepared');
        return {
          migrationId: cookie.migrationId,
          port: 0,
          address,
          ...advertised,
          nbd,
          ...nvramShared,
          host: { hostId: this.deps.hostId, hostname: this.deps.hostname },
        };
      }
      if (!existing) host.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: null });
      vm = await host.launchDomain(launchDef, { incoming: true, status: { state: 'paused', reason: 'migrating' } });
      const { port, nbdPort, tls, preemptAgreed } = await this.listen(vm, cookie, address, ports);
      ledger.note(cookie.migrationId, 'destination', { port, address, ports, ...(nbdPort ? { nbdPort } : {}), ...(tls ? { tls: true } : {}) });
      this.incoming.set(cookie.migrationId, { vm, ports, release });
      log.info({ port, address, nbdPort }, 'incoming migration prepared');
      return {
        migrationId: cookie.migrationId,
        port,
        address,
        ...advertised,
        ...(nbdPort ? { nbdPort } : {}),
        ...nvramShared,
        ...(preemptAgreed ? { postcopyPreempt: true } : {}),
        host: { hostId: this.deps.hostId, hostname: this.deps.hostname },
        displays: displaysOf(vm),
      };
    } catch (err) {
      log.warn({ err }, 'prepare failed');
      for (const p of ports) this.deps.ports.release(p);
      stopPids(nbdPids);
      await this.discard(def.uuid, vm);
      removeFiles(made.created);
      this.setPhase(cookie.migrationId, 'Failed', { error: (err as Error).message });
      ledger.cleanedUp(cookie.migrationId, 'destination');
      release();
      throw err;
    }
  }

  /**
   * What QEMU opens, before it starts: the disks copied with the migration (first, so a missing pool fails
   * first) and the UEFI variable store at this host's path (its default when the source used its own
   * default). Each file created goes into `made` at once, for a failed Prepare to remove.
   */
  private async receiveFiles(
    cookie: MigrationCookie,
    def: DomainDefinition,
    made: { created: string[] },
    log: Logger,
  ): Promise<{ launchDef: DomainDefinition; nvramShared: { nvramShared: boolean } | Record<string, never> }> {
    if (cookie.storage) {
      made.created = await createDiskTargets(cookie.storage.disks, { storage: this.deps.storage, qemuImg: this.deps.qemuImg });
      this.ledger.note(cookie.migrationId, 'destination', { created: made.created });
    }
    if (!cookie.nvram) return { launchDef: def, nvramShared: {} };
    const arrived = receiveNvram(cookie.nvram, (format) => this.deps.host.defaultNvramPath(def.name, format), cookie.migrationId);
    if (arrived.created) made.created = [...made.created, arrived.path];
    this.ledger.note(cookie.migrationId, 'destination', { created: made.created, nvramPath: arrived.path });
    log.info({ nvram: arrived.path, shared: arrived.shared }, arrived.shared ? 'NVRAM on shared storage: nothing to copy' : 'NVRAM copied from the source');
    return { launchDef: withNvramPath(def, arrived.path), nvramShared: { nvramShared: arrived.shared } };
  }

  /**
   * The incoming QEMU ready to receive: the capabilities and parameters the source sent (post-copy's return
   * path, and preempt when the source offered it and this QEMU has it too), TLS server credentials (the
   * source's certificate is verified), the data port, the NBD exports of copied disks, then migrate-incoming.
   * Each port acquired goes into `ports` at once, for a failed Prepare to release.
   */
  private async listen(
    vm: RunningDomain,
    cookie: MigrationCookie,
    address: string,
    ports: number[],
  ): Promise<{ port: number; nbdPort?: number; tls: boolean; preemptAgreed: boolean }> {
    const mm = new MigrationMonitor(vm.monitor);
    const preempt = await agreePreempt(mm, cookie.postcopy?.preempt === true, cookie.tuning.capabilities['postcopy-ram'] === true);
    await mm.setCapabilities(withPostcopyCapabilities(cookie.tuning.capabilities, preempt));
    await mm.setParameters(cookie.tuning.sharedParameters);
    const tlsCreds = cookie.tls
      ? await addMigrationTlsCreds(vm.monitor, {
          endpoint: 'server',
          dir: this.deps.tls.dir,
          host: this.deps.hostname,
          stage: (files) => this.deps.host.stageForQemu(vm.uuid, 'tls', files),
        })
      : undefined;
    if (tlsCreds) await mm.setParameters(tlsParameters({ creds: tlsCreds }));
    const port = await this.deps.ports.acquire(address, cookie.listen?.port);
    ports.push(port);
    let nbdPort: number | undefined;
    if (cookie.storage) {
      nbdPort = await this.deps.ports.acquire(address);
      ports.push(nbdPort);
      const blk = new BlockMonitor(vm.monitor);
      await blk.nbdServerStart(address, nbdPort, tlsCreds);
      for (const d of cookie.storage.disks) await blk.exportAdd({ id: `mig-${d.dev}`, nodeName: `fmt-${d.dev}`, name: d.dev, writable: true });
    }
    await mm.incoming(formatTcpUri(address, port));
    return { port, ...(nbdPort ? { nbdPort } : {}), tls: tlsCreds !== undefined, preemptAgreed: preempt.agreed };
  }

  /** Offline storage copy: one qemu-nbd per created disk, for the source's qemu-img to write into. */
  private async serveOffline(
    cookie: MigrationCookie,
    created: string[],
    address: string,
    ports: number[],
    pids: number[],
  ): Promise<Array<{ dev: string; port: number; export: string }>> {
    const out: Array<{ dev: string; port: number; export: string }> = [];
    for (const [i, d] of (cookie.storage?.disks ?? []).entries()) {
      const port = await this.deps.ports.acquire(address);
      ports.push(port);
      const server = await startNbdServer({
        run: this.deps.run,
        path: created[i] as string,
        format: d.format,
        address,
        port,
        exportName: d.dev,
        pidFile: `${this.deps.runDir}/nbd-${cookie.migrationId}-${d.dev}.pid`,
      });
      pids.push(server.pid);
      out.push({ dev: d.dev, port, export: d.dev });
    }
    this.ledger.note(cookie.migrationId, 'destination', { nbdPids: pids, ports });
    return out;
  }

  /** Resumes (or keeps paused) the arrived VM; idempotent once it succeeded. */
  async finish(id: string, req: FinishRequest): Promise<{ state: string; domainId: number | null }> {
    const rec = this.ledger.get(id, 'destination');
    if (!rec) throw new FerryError('MIG_NOT_FOUND', `migration ${id} is unknown on this host`);
    if (rec.phase === 'Succeeded') {
      // A Finish asked again (its first reply was lost, or recovery completed it after a restart): what it asks to keep is kept.
      this.keepPersistent(rec, req);
      return this.domainState(rec.uuid);
    }
    if (rec.phase !== 'Prepare' && rec.phase !== 'Finish') {
      throw new FerryError('MIG_PEER_REFUSED', `operation failed: migration ${id} was already ${rec.phase.toLowerCase()} on the destination`);
    }
    const log = this.deps.log.child({ vm: rec.name, migration: id, side: 'destination' });
    if (rec.options.offline) return this.finishOffline(id, rec, req, log);
    const inc = this.incoming.get(id);
    const vm = inc?.vm ?? this.deps.host.runningDomain(rec.uuid);
    if (!vm && this.deps.host.domainRecord(rec.uuid)?.liveXml != null) {
      // Its QEMU runs (a post-copy one waiting for pages does not answer its monitor) but this ferryd, restarted, cannot reach it yet.
      throw new FerryError('QEMU_UNREACHABLE', `operation failed: the incoming QEMU of '${rec.name}' runs but cannot be reached yet; ask again`);
    }
    if (!vm) throw new FerryError('MIG_PEER_REFUSED', 'operation failed: the incoming QEMU is gone');
    if (rec.phase === 'Finish' && (await vm.monitor.queryStatus()).running) {
      // Finish asked again after its vCPUs already run here (post-copy, the first reply lost): nothing to redo but what it keeps.
      this.keepPersistent(rec, req);
      this.setPhase(id, 'Succeeded');
      this.done(id);
      log.info('incoming migration finished (Finish asked again)');
      return this.domainState(rec.uuid);
    }
    // Finish asked again after this ferryd died in the middle of it (before the vCPUs ran): it goes on from where it was.
    if (rec.phase !== 'Finish') this.setPhase(id, 'Finish');
    try {
      log.debug('switchover: finish requested');
      await waitIncoming(new MigrationMonitor(vm.monitor), vm, req.postcopy);
      log.debug('switchover: incoming stream complete');
      // The leases move with the VM: take them before its vCPUs run here (failure: the source takes the VM back).
      if (this.deps.host.leasesEnabled()) {
        const leases = req.leases && req.leases.length > 0 ? req.leases : await this.deps.host.leasesOf(vm.def);
        await this.deps.host.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, leases);
        log.debug({ leases: leases.length }, 'switchover: leases acquired');
      }
      if (rec.data.nbdPort) await new BlockMonitor(vm.monitor).nbdServerStop().catch((err) => log.warn({ err }, 'nbd-server-stop failed'));
      if (req.resume) {
        const resumed = vm.monitor.listen(['RESUME']);
        try {
          vm.expectResume(req.postcopy ? 'post-copy' : 'migrated');
          await vm.monitor.cont();
          await resumed.next({ timeoutMs: 10_000 });
          log.debug('switchover: vCPUs resumed');
        } finally {
          resumed.close();
        }
      }
    } catch (err) {
      // Not resumed: the source may safely take the VM back.
      log.warn({ err }, 'finish failed; discarding the incoming VM');
      await this.discard(rec.uuid, vm);
      removeFiles(rec.data.created ?? []);
      this.setPhase(id, 'Failed', { error: (err as Error).message });
      this.done(id);
      throw err;
    }
    // From here on the VM runs here: nothing below may report a failure to the source.
    if (!req.resume) vm.setStatus({ state: 'paused', reason: 'user' });
    else if (!req.postcopy) vm.setStatus({ state: 'running', reason: 'migrated' });
    void new MigrationMonitor(vm.monitor).announceSelf().catch((err) => log.warn({ err }, 'announce-self failed'));
    // The guest's clock stood still during the switchover: set it once its agent is back (best effort).
    if (req.resume) void syncGuestClock(vm, { log, why: 'migrated', waitOpenMs: 60_000 });
    // The stream is done (post-copy still pulls pages: then the next migration replaces the credentials).
    if (rec.data.tls && !req.postcopy) void removeMigrationTlsCreds(vm.monitor).catch((err) => log.warn({ err }, 'cannot remove the TLS credentials'));
    this.keepPersistent(rec, req);
    this.setPhase(id, 'Succeeded', req.stats ? { stats: { ...req.stats, operation: 'Incoming migration', phase: 'Succeeded' } } : {});
    this.done(id);
    log.info({ resumed: req.resume }, 'incoming migration finished');
    return this.domainState(rec.uuid);
  }

  /** The persistent definition the source hands over with Finish (--persistent), saved here; a failure is logged, never reported: the VM runs here. */
  private keepPersistent(rec: LedgerRecord<'destination'>, req: FinishRequest): void {
    if (!req.persistentXml) return;
    try {
      this.deps.host.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: withNvramPathXml(req.persistentXml, rec.data.nvramPath) });
    } catch (err) {
      this.deps.log.error({ err, vm: rec.name, migration: rec.id }, 'the domain runs here but its persistent definition could not be saved');
    }
  }

  /** Discards the incoming VM; refused once Finish has resumed it. */
  async abort(id: string, reason = 'cancelled by the source'): Promise<void> {
    const rec = this.ledger.get(id, 'destination');
    if (!rec) return;
    if (rec.phase === 'Failed' || rec.phase === 'Cancelled') return;
    if (rec.phase === 'Succeeded' || rec.phase === 'Finish') {
      throw new FerryError('MIG_PEER_REFUSED', `operation failed: migration ${id} already finished on the destination`);
    }
    this.setPhase(id, 'Cancelled', { error: reason });
    await this.cleanUpIncoming(id, rec);
  }

  /**
   * Recovery: an incoming migration that the source gave up on (Failed, Cancelled, unknown or silent). Before
   * Finish it is cancelled as the source would; in Finish (ferryd stopped while finishing, and recovery checked
   * that the VM's vCPUs never ran here) the source runs the VM, so the paused copy here is destroyed and the
   * migration recorded as Failed: a paused copy left behind is one `resume` away from a VM running twice.
   */
  async discardLeftBehind(id: string, reason: string): Promise<void> {
    const rec = this.ledger.get(id, 'destination');
    if (!rec || rec.phase !== 'Finish') return this.abort(id, reason);
    this.ledger.recover(id, 'destination', 'Failed', { error: reason });
    await this.cleanUpIncoming(id, rec);
  }

  /** The destination's view of a migration, including the incoming QEMU's own status when it still runs. */
  async status(id: string): Promise<{ side: 'destination'; phase: string; state: string | null; incoming: string | null }> {
    const rec = this.ledger.get(id, 'destination');
    if (!rec) throw new FerryError('MIG_NOT_FOUND', `migration ${id} is unknown on this host`);
    const dom = this.deps.host.domainRecord(rec.uuid);
    const vm = rec.options.offline ? undefined : (this.incoming.get(id)?.vm ?? this.deps.host.runningDomain(rec.uuid));
    const incoming =
      vm && (rec.phase === 'Prepare' || rec.phase === 'Finish')
        ? ((await new MigrationMonitor(vm.monitor).query().catch(() => ({ status: undefined }))).status ?? null)
        : null;
    return { side: 'destination', phase: rec.phase, state: dom?.state ?? null, incoming };
  }

  /** True while this ferryd follows the incoming migration (prepared here, or adopted after a restart). */
  tracks(id: string): boolean {
    return this.incoming.has(id);
  }

  /** Re-registers an incoming migration found after a restart (its QEMU was reattached). */
  adopt(id: string, vm: RunningDomain | undefined, ports: number[], release: () => void): void {
    this.incoming.set(id, { vm, ports, release });
  }

  /** Offline: the copies arrived (the source verified them); keep the definition. */
  private async finishOffline(
    id: string,
    rec: LedgerRecord<'destination'>,
    req: FinishRequest,
    log: Logger,
  ): Promise<{ state: string; domainId: number | null }> {
    this.setPhase(id, 'Finish');
    stopPids(rec.data.nbdPids ?? []);
    try {
      if (!req.persistentXml) throw new FerryError('MIG_PEER_REFUSED', 'operation failed: an offline migration needs the persistent definition');
      const xml = withNvramPathXml(req.persistentXml, rec.data.nvramPath);
      const def = parseDomainXml(xml);
      if (req.tpmState) this.deps.host.receiveTpmState(def, req.tpmState);
      this.deps.host.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: xml });
    } catch (err) {
      removeFiles(rec.data.created ?? []);
      this.setPhase(id, 'Failed', { error: (err as Error).message });
      this.done(id);
      throw err;
    }
    this.setPhase(id, 'Succeeded', req.stats ? { stats: { ...req.stats, operation: 'Offline migration', phase: 'Succeeded' } } : {});
    this.done(id);
    log.info('offline migration finished');
    this.deps.host.publish({ type: 'domain.defined', uuid: rec.uuid, name: rec.name, at: Date.now() });
    return this.domainState(rec.uuid);
  }

  /** Undoes what an incoming migration left here: its NBD servers, its QEMU, the disk copies it created. */
  private async cleanUpIncoming(id: string, rec: LedgerRecord<'destination'>): Promise<void> {
    stopPids(rec.data.nbdPids ?? []);
    const vm = rec.options.offline ? undefined : (this.incoming.get(id)?.vm ?? this.deps.host.runningDomain(rec.uuid));
    await this.discard(rec.uuid, vm);
    removeFiles(rec.data.created ?? []);
    this.done(id);
    this.ledger.cleanedUp(id, 'destination');
  }

  private done(id: string): void {
    const inc = this.incoming.get(id);
    if (!inc) return;
    this.incoming.delete(id);
    for (const p of inc.ports) this.deps.ports.release(p);
    inc.release();
  }

  private async discard(uuid: string, vm: RunningDomain | undefined): Promise<void> {
    if (vm) await vm.destroy('failed').catch((err) => this.deps.log.error({ err }, 'cannot stop the incoming QEMU'));
    else if (this.deps.host.domainRecord(uuid)?.persistentXml === null && !this.deps.host.domainRecord(uuid)?.liveXml) {
      this.deps.host.markStopped(uuid, 'failed');
    }
  }

  private setPhase(id: string, to: Phase, patch: { error?: string; stats?: Record<string, unknown> } = {}): void {
    this.ledger.transition(id, 'destination', to, patch);
  }

  private domainState(uuid: string): { state: string; domainId: number | null } {
    const d = this.deps.host.domainRecord(uuid);
    return { state: d?.state ?? 'shutoff', domainId: d?.domainId ?? null };
  }
}

function stopPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
}

/** Where the destination's displays listen, for the source to tell clients (graphics-uri). */
function displaysOf(vm: RunningDomain): DestinationDisplay[] {
  return vm.def.devices.graphics.map((g) => ({
    type: g.type,
    ...(g.listens[0]?.address === undefined ? {} : { address: g.listens[0].address }),
    ...(g.port === undefined ? {} : { port: g.port }),
    ...(g.tlsPort !== undefined && g.tlsPort > 0 ? { tlsPort: g.tlsPort } : {}),
  }));
}
