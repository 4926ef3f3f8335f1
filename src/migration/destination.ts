import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { RunningDomain } from '../host/running-domain.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { PrepareReply } from '../shared/peer-protocol/migration-messages.js';
import type { DomainRecord } from '../store/domain-store.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { validateCookie } from './cookie.js';
import { advertisedDataHost } from './data-host.js';
import { removeFiles } from './disk-plan.js';
import { displaysOf, type IncomingDeps, IncomingPreparation, stopPids } from './incoming-preparation.js';
import { type FinishRequest, settleArrived, switchOverIncoming } from './incoming-switchover.js';
import { type LedgerRecord, ledgerFor, type MigrationLedger } from './migration-ledger.js';
import { assertTlsAllowed } from './migration-tls.js';
import { withNvramPathXml } from './nvram-transfer.js';
import type { Phase } from './phases.js';

/** Prepare's reply: the peer protocol's (shared/peer-protocol/migration-messages.ts). */
export type PrepareResult = PrepareReply;

export interface DestinationDeps extends IncomingDeps {
  migrations: MigrationStore;
  /** The records' owner; by default one over `migrations`, announcing through `host`. */
  ledger?: MigrationLedger;
  hostId: string;
  /** Where incoming migration streams are accepted unless the source asks otherwise. */
  migrationAddress: string;
  /** The host sources are told to send migration data to (libvirt's migration_host); empty: see advertisedDataHost(). */
  migrationHost?: string;
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
    const def = parseDomainXml(cookie.domain.xml);
    if (def.uuid !== cookie.domain.uuid || def.name !== cookie.domain.name) {
      throw new FerryError('MIG_PEER_REFUSED', 'operation failed: migration cookie does not match the domain definition');
    }
    assertTlsAllowed(cookie, this.deps.tls, this.deps.hostname);
    const log = this.deps.log.child({ vm: def.name, migration: cookie.migrationId, side: 'destination' });
    const release = await host.beginMigrationJob(def.uuid, 'migration in');
    // Nothing recorded (a full disk): the job goes with the refusal, or every later Prepare of this domain is refused.
    this.ledgerOrRelease(release, () =>
      this.ledger.begin({
        id: cookie.migrationId,
        side: 'destination',
        uuid: def.uuid,
        name: def.name,
        phase: 'Prepare',
        peer: cookie.source.peerUri ?? cookie.source.hostname,
        options: { ...cookie.flags },
        data: { sourceHostId: cookie.source.hostId },
      }),
    );
    const prep = new IncomingPreparation(this.deps, this.ledger, cookie, log);
    let vm: RunningDomain | undefined;
    const address = cookie.listen?.address ?? this.deps.migrationAddress;
    const connectHost = advertisedDataHost(this.deps.migrationHost ?? '', address);
    const reply = {
      migrationId: cookie.migrationId,
      address,
      ...(connectHost ? { connectHost } : {}),
      host: { hostId: this.deps.hostId, hostname: this.deps.hostname },
    };
    try {
      const existing = this.assertArrivalAllowed(def);
      const { launchDef, nvramShared } = await prep.receiveFiles(def);
      if (cookie.flags.offline) {
        const nbd = await prep.serveOffline(address);
        this.incoming.set(cookie.migrationId, { vm: undefined, ports: prep.ports, release });
        log.info({ disks: nbd.length }, 'offline migration prepared');
        return { ...reply, port: 0, nbd, ...nvramShared };
      }
      if (!existing) host.saveDefinition({ uuid: def.uuid, name: def.name, persistentXml: null });
      vm = await host.launchDomain(launchDef, { incoming: true, status: { state: 'paused', reason: 'migrating' } });
      const { port, nbdPort, preemptAgreed } = await prep.listen(vm, address);
      this.incoming.set(cookie.migrationId, { vm, ports: prep.ports, release });
      log.info({ port, address, nbdPort }, 'incoming migration prepared');
      return {
        ...reply,
        port,
        ...(nbdPort ? { nbdPort } : {}),
        ...nvramShared,
        ...(preemptAgreed ? { postcopyPreempt: true } : {}),
        displays: displaysOf(vm),
      };
    } catch (err) {
      log.warn({ err }, 'prepare failed');
      try {
        await this.discard(def.uuid, vm);
        prep.undo();
        this.setPhase(cookie.migrationId, 'Failed', { error: (err as Error).message });
        this.ledger.cleanedUp(cookie.migrationId, 'destination');
      } catch (e) {
        // The record stays in Prepare with no QEMU: recovery records it as failed once the store can be written.
        log.error({ err: e }, 'cannot record the failed Prepare');
      } finally {
        release();
      }
      throw err;
    }
  }

  private ledgerOrRelease(release: () => void, write: () => void): void {
    try {
      write();
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The domain may arrive: no other domain has its name, and it does not run here. Returns its record here, if any. */
  private assertArrivalAllowed(def: DomainDefinition): DomainRecord | undefined {
    const existing = this.deps.host.domainRecord(def.uuid);
    const sameName = this.deps.host.domainNamed(def.name);
    if (sameName && sameName.uuid !== def.uuid) {
      throw new FerryError('DOMAIN_EXISTS', `operation failed: domain '${def.name}' already exists with uuid ${sameName.uuid}`);
    }
    if (existing?.liveXml) throw new FerryError('DOMAIN_ALREADY_RUNNING', `operation failed: domain '${def.name}' is already active`);
    return existing;
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
      await switchOverIncoming(this.deps.host, vm, rec, req, log);
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
    settleArrived(vm, rec, req, log);
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
