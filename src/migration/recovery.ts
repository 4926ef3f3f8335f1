import type { Logger } from 'pino';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import { FerryError, fromUnknown } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { PeerClient } from '../peer/peer-client.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { MigrationDestination } from './destination.js';
import { isFinal, type Phase, RECOVERY_TRANSITIONS } from './phases.js';
import { type LedgerRecord, ledgerFor, type MigrationLedger } from './migration-ledger.js';
import { askDestinationOutcome, rollbackSource } from './source-rollback.js';
import type { RunningDomain } from '../host/running-domain.js';
import { migrationHostOf } from '../peer/peer-address.js';
import { migrateUriHost } from './data-host.js';
import { destinationGone, endLostPostcopy } from './postcopy/destination-lost.js';
import { isDestinationLost, PAUSED_STATES, PostcopyRecovery } from './postcopy/recovery.js';

export interface RecoveryDeps {
  host: MigrationHost;
  migrations: MigrationStore;
  destination: MigrationDestination;
  /** The records' owner; by default one over `migrations`, announcing through `host`. */
  ledger?: MigrationLedger;
  peers: PeerConnector;
  log: Logger;
  /** How long the destination waits for a silent source before it discards an incoming VM. */
  orphanTimeoutMs?: number;
  /** Automatic post-copy recovery attempts (migration_postcopy_recover_attempts). */
  postcopyRecoverAttempts?: number;
}

/**
 * Finishes or rolls back migrations that a ferryd restart (or a lost peer)
 * left in flight, keeping the invariants: the VM runs on exactly one host;
 * after the switch the source never resumes; the destination is cleaned up.
 */
export class MigrationRecovery {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Migrations still being settled (`id/side` → domain uuid): a retry is pending for each. */
  private readonly resolving = new Map<string, string>();
  /** Incoming migrations whose source has not answered since this time (`id` → ms). */
  private readonly silentSince = new Map<string, number>();
  /** Incoming migrations this ferryd prepared and watches until Finish: how often, and since when the source said Begin or Prepare (0: not yet). */
  private readonly watching = new Map<string, { everyMs: number; since: number }>();
  /** Post-copy migrations a restarted source follows to their end (domain uuid → their recovery). */
  private readonly draining = new Map<string, PostcopyRecovery>();
  private closed = false;
  private readonly ledger: MigrationLedger;

  constructor(private readonly deps: RecoveryDeps) {
    this.ledger = deps.ledger ?? ledgerFor(deps);
  }

  /** Looks at every unfinished migration once (at start-up). */
  async recoverAll(): Promise<void> {
    for (const rec of this.ledger.unfinished()) {
      await this.recover(rec).catch((err) => this.deps.log.error({ err, migration: rec.id }, 'migration recovery failed'));
    }
  }

  /**
   * The watchdog of an incoming migration this ferryd just prepared: until the source asks for Finish, its record
   * is looked at every `everyMs` as after a restart (the source is asked; silent past the orphan timeout, or failed,
   * the incoming QEMU goes). A source whose Abort was lost with the management link cannot leave it behind.
   */
  watchIncoming(id: string, everyMs = 5000): void {
    this.watching.set(id, { everyMs, since: 0 });
    const key = `${id}/destination`;
    clearTimeout(this.pending.get(key));
    this.pending.delete(key);
    this.retryLater(id, 'destination', everyMs);
  }

  /** Tries again in a while (a peer that did not answer). */
  retryLater(id: string, side: 'source' | 'destination', delayMs = 2000): void {
    if (this.closed || this.pending.has(`${id}/${side}`)) return;
    const t = setTimeout(() => {
      this.pending.delete(`${id}/${side}`);
      const rec = this.ledger.get(id, side);
      if (!rec) return;
      void this.recover(rec).catch((err: unknown) => {
        this.deps.log.error({ err, migration: id }, 'migration recovery failed');
        // The store could not be written (a full disk): the decision stands, it is recorded once it can be.
        if (fromUnknown(err).code === 'STORE_FAILED') this.retryLater(id, side, 5000);
      });
    }, delayMs);
    t.unref();
    this.pending.set(`${id}/${side}`, t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  /**
   * True while recovery still settles a migration of this domain: its leases
   * are the migration's business (handed over, or not yet taken), so the
   * lease check must not apply on_lockfailure to it.
   */
  resolves(uuid: string): boolean {
    return [...this.resolving.values()].includes(uuid);
  }

  private async recover(rec: LedgerRecord): Promise<void> {
    const key = `${rec.id}/${rec.side}`;
    this.resolving.set(key, rec.uuid);
    try {
      if (rec.side === 'source') await this.recoverSource(rec);
      else await this.recoverDestination(rec);
    } finally {
      if (!this.pending.has(key)) {
        this.resolving.delete(key);
        this.silentSince.delete(rec.id);
        if (rec.side === 'destination') this.watching.delete(rec.id);
      }
    }
  }

  private async recoverSource(rec: LedgerRecord<'source'>): Promise<void> {
    const { host } = this.deps;
    const log = this.deps.log.child({ vm: rec.name, migration: rec.id, side: 'source', recovery: true });
    const vm = host.runningDomain(rec.uuid);
    if (!vm && !isFinal(rec.phase) && this.unreachable(rec, log)) return;
    const sourceWasRunning = rec.data.sourceWasRunning === true;
    let peer: PeerClient | undefined;
    try {
      peer = this.deps.peers.client(rec.peer, 10_000);
    } catch {
      peer = undefined;
    }
    const lockState = rec.data.lockState ?? [];
    const fail = async (phase: Phase, why: string): Promise<void> => {
      const now = this.ledger.get(rec.id, 'source')?.phase ?? rec.phase;
      if (now !== phase && !isFinal(now)) this.ledger.recover(rec.id, 'source', phase, { error: why });
      const reacquire = vm && lockState.length > 0 ? () => host.acquireLeases({ uuid: vm.uuid, name: vm.name, pid: vm.pid }, lockState) : undefined;
      if (!vm || (await rollbackSource({ vm, peer, id: rec.id, sourceWasRunning, log, ...(reacquire ? { reacquire } : {}) })))
        this.ledger.cleanedUp(rec.id, 'source');
      log.warn({ why }, 'migration rolled back by recovery');
    };

    switch (rec.phase) {
      case 'Begin':
      case 'Prepare':
        return fail('Failed', `ferryd restarted during ${rec.phase}`);
      case 'Failed':
      case 'Cancelled':
        return fail(rec.phase, rec.error ?? 'rolled back');
      case 'Succeeded':
      case 'Confirm':
        await this.confirmSource(rec, log);
        return;
      case 'Perform':
      case 'Finish': {
        const qemu = vm ? (await new MigrationMonitor(vm.monitor).query().catch(() => ({ status: undefined }))).status : undefined;
        if (rec.phase === 'Perform' && vm && qemu !== 'completed' && !qemu?.startsWith('postcopy')) {
          return fail('Failed', `ferryd restarted during Perform (QEMU migration ${qemu ?? 'unknown'})`);
        }
        // QEMU finished sending (or the source QEMU is gone): the destination decides.
        if (!peer) return fail('Failed', 'destination URI unusable');
        if (rec.phase === 'Perform') this.ledger.recover(rec.id, 'source', 'Finish');
        const state = await peer.call(PEER.status, { params: { id: rec.id } }).catch((err: unknown) => err);
        if (state instanceof FerryError && state.code === 'MIG_NOT_FOUND') return fail('Failed', 'the destination does not know the migration');
        if (state instanceof Error) {
          log.warn({ err: state }, 'destination unreachable; the domain stays paused until it answers');
          this.retryLater(rec.id, 'source');
          return;
        }
        const s = state as { phase: string; incoming?: string | null };
        const postcopy = qemu?.startsWith('postcopy') ?? false;
        // Post-copy still sending: the destination runs the VM on pages only this QEMU has; it goes once they are all sent.
        if (s.phase === 'Succeeded') return postcopy && vm ? this.drainPostcopy(rec, vm, peer, log) : this.confirmSource(rec, log);
        if (s.phase === 'Failed' || s.phase === 'Cancelled') return fail('Failed', 'the destination discarded the domain');
        if (s.incoming === 'completed' || postcopy || s.phase === 'Finish') {
          try {
            await peer.call(PEER.finish, {
              params: { id: rec.id },
              body: {
                resume: sourceWasRunning && rec.options.suspend !== true,
                persistentXml: rec.options.persistent ? (host.domainRecord(rec.uuid)?.persistentXml ?? null) : null,
                postcopy,
                leases: lockState,
              },
            });
            if (postcopy && vm) return this.drainPostcopy(rec, vm, peer, log);
            return this.confirmSource(rec, log);
          } catch (err) {
            const outcome = await askDestinationOutcome(peer, rec.id, { maxMs: 10_000, log });
            if (outcome === 'resumed') return this.confirmSource(rec, log);
            if (outcome === 'not-resumed' && vm) return fail('Failed', (err as Error).message);
            this.retryLater(rec.id, 'source');
            return;
          }
        }
        return fail('Failed', `the destination had not received the whole domain (${s.incoming ?? 'unknown'})`);
      }
      default:
        return;
    }
  }

  /**
   * A source restarted in post-copy: its QEMU still sends the pages the destination's VM waits for, so it is stopped
   * only once QEMU says completed (invariant 4 holds all along: its vCPUs never run). A connection that breaks
   * meanwhile is recovered as during the migration (postcopy/recovery.ts; migrate --postcopy-resume reaches it through
   * postcopyRecovery()). Runs apart from the other recoveries, which must not wait for it.
   */
  private drainPostcopy(rec: LedgerRecord<'source'>, vm: RunningDomain, peer: PeerClient, log: Logger): void {
    const key = `${rec.id}/post-copy`;
    const mm = new MigrationMonitor(vm.monitor);
    const recovery = new PostcopyRecovery({
      mm,
      domain: rec.name,
      targetHost: migrateUriHost(rec.options.migrateUri) ?? migrationHostOf(peer.address),
      attempts: this.deps.postcopyRecoverAttempts ?? 5,
      log,
      now: Date.now,
      askDestination: () => peer.call(PEER.postcopyRecover, { params: { id: rec.id } }, { timeoutMs: 15_000 }),
      destinationGone: () => destinationGone(peer, rec.id, rec.name),
    });
    this.resolving.set(key, rec.uuid);
    this.draining.set(rec.uuid, recovery);
    log.info('post-copy: recovery waits for the source QEMU to send the last pages before stopping it');
    const drain = async (): Promise<void> => {
      for (;;) {
        if (this.closed) return;
        const info = await mm.query();
        const status = info.status ?? 'none';
        if (!PAUSED_STATES.has(status) && status !== 'postcopy-active') break;
        if (PAUSED_STATES.has(status)) {
          const lost = await recovery.onPaused(info).then(
            () => undefined,
            (err: unknown) => (isDestinationLost(err) ? err : Promise.reject(err)),
          );
          if (lost) return this.destinationLost(rec, vm, peer, lost, log);
        } else recovery.onRunning();
        await new Promise((r) => setTimeout(r, 200));
      }
      await this.confirmSource(rec, log);
    };
    void drain()
      .catch((err: unknown) => log.error({ err }, 'post-copy: recovery could not follow the source QEMU to the end'))
      .finally(() => {
        this.resolving.delete(key);
        this.draining.delete(rec.uuid);
      });
  }

  /** The destination's QEMU exited while this restarted source drained post-copy: the migration ends, failed (postcopy/destination-lost.ts). */
  private async destinationLost(rec: LedgerRecord<'source'>, vm: RunningDomain, peer: PeerClient, cause: FerryError, log: Logger): Promise<void> {
    const { host } = this.deps;
    const phase = this.ledger.get(rec.id, 'source')?.phase ?? rec.phase;
    const err = await endLostPostcopy({
      vm,
      name: rec.name,
      id: rec.id,
      peer,
      destUri: rec.peer,
      persistent: rec.options.persistent,
      undefineSource: rec.options.undefineSource,
      undefineHere: () => {
        if (host.domainRecord(rec.uuid)?.persistentXml) host.undefineRecord(rec.uuid);
      },
      definedHere: () => Boolean(host.domainRecord(rec.uuid)?.persistentXml),
      cause,
      log,
    });
    if ((RECOVERY_TRANSITIONS.source[phase] ?? []).includes('Failed')) this.ledger.recover(rec.id, 'source', 'Failed', { error: err.message });
    this.ledger.cleanedUp(rec.id, 'source');
  }

  /** The recovery of a post-copy migration this restarted source follows (migrate --postcopy-resume). */
  postcopyRecovery(uuid: string): PostcopyRecovery | undefined {
    return this.draining.get(uuid);
  }

  private async confirmSource(rec: LedgerRecord<'source'>, log: Logger): Promise<void> {
    const { host } = this.deps;
    const phase = this.ledger.get(rec.id, 'source')?.phase ?? rec.phase;
    if (phase !== 'Confirm' && phase !== 'Succeeded') this.ledger.recover(rec.id, 'source', 'Confirm');
    const vm = host.runningDomain(rec.uuid);
    // After the switch the source never resumes: kill whatever is left of it (invariant 4).
    if (vm) await vm.destroy('migrated');
    if (rec.options.undefineSource && host.domainRecord(rec.uuid)?.persistentXml) host.undefineRecord(rec.uuid);
    if (phase !== 'Succeeded') this.ledger.recover(rec.id, 'source', 'Succeeded');
    this.ledger.cleanedUp(rec.id, 'source');
    log.info('migration completed by recovery');
  }

  private async recoverDestination(rec: LedgerRecord<'destination'>): Promise<void> {
    const { host, destination } = this.deps;
    const log = this.deps.log.child({ vm: rec.name, migration: rec.id, side: 'destination', recovery: true });
    const vm = host.runningDomain(rec.uuid);
    const watched = this.watching.get(rec.id);
    if (watched && (rec.phase !== 'Prepare' || !destination.tracks(rec.id))) {
      // Finish reached (or the migration ended) while it was watched: the live calls own it from here.
      this.watching.delete(rec.id);
      this.silentSince.delete(rec.id);
      return;
    }
    if (watched && !vm) return this.discardIncoming(rec, 'the incoming QEMU is gone', log);
    if (isFinal(rec.phase)) {
      this.ledger.cleanedUp(rec.id, 'destination');
      return;
    }
    if (!vm && !rec.options.offline && this.unreachable(rec, log)) return;
    if (!vm && !rec.options.offline) {
      this.ledger.recover(rec.id, 'destination', 'Failed', { error: 'the incoming QEMU is gone' });
      this.ledger.cleanedUp(rec.id, 'destination');
      return;
    }
    if (rec.phase === 'Finish' && vm) {
      // Only a source that asked for Finish gets here; it waits paused. Complete what was asked.
      const status = await vm.monitor.queryStatus();
      if (status.running) {
        this.ledger.recover(rec.id, 'destination', 'Succeeded');
        this.ledger.cleanedUp(rec.id, 'destination');
        return;
      }
    }
    // Adopted once (a retry finds it adopted already, with its job held).
    if (!destination.tracks(rec.id)) {
      destination.adopt(rec.id, vm, rec.data.ports ?? [], await host.beginMigrationJob(rec.uuid, 'migration in'));
    }
    // Ask the source what became of it.
    let peer: PeerClient | undefined;
    try {
      peer = this.deps.peers.client(rec.peer, 5000);
    } catch {
      peer = undefined;
    }
    const source = peer ? await peer.call(PEER.status, { params: { id: rec.id } }).catch((err: unknown) => err) : undefined;
    if (source instanceof FerryError && source.code === 'MIG_NOT_FOUND') return this.discardIncoming(rec, 'the source does not know the migration', log);
    if (!source || source instanceof Error) {
      // "Without an answer" counts from the first question left unanswered, not from when the migration began.
      const silentSince = this.silentSince.get(rec.id) ?? Date.now();
      this.silentSince.set(rec.id, silentSince);
      const keepUntil = silentSince + (this.deps.orphanTimeoutMs ?? 10 * 60_000);
      if (Date.now() >= keepUntil) return this.discardIncoming(rec, 'the source stayed silent', log);
      const until = new Date(keepUntil).toISOString();
      log.warn(
        { err: source, silentSince: new Date(silentSince).toISOString(), keepUntil: until },
        `the source does not answer; the incoming domain is kept until ${until}`,
      );
      this.retryLater(rec.id, 'destination', Math.max(100, Math.min(5000, keepUntil - Date.now())));
      return;
    }
    this.silentSince.delete(rec.id);
    const s = source as { phase: string };
    if (watched && (s.phase === 'Begin' || s.phase === 'Prepare')) {
      // The source has not recorded Perform yet: it waits for this host's Prepare reply, or starts. Bounded as silence is.
      watched.since ||= Date.now();
      if (Date.now() < watched.since + (this.deps.orphanTimeoutMs ?? 10 * 60_000)) {
        this.retryLater(rec.id, 'destination', watched.everyMs);
        return;
      }
    }
    if (s.phase === 'Failed' || s.phase === 'Cancelled' || s.phase === 'Begin' || s.phase === 'Prepare') {
      return this.discardIncoming(rec, `the source's migration is ${s.phase}`, log);
    }
    // Perform / Finish / Confirm on the source: it will call finish or abort; wait.
    this.retryLater(rec.id, 'destination', watched?.everyMs ?? 5000);
  }

  /**
   * A domain whose QEMU runs but could not be reached yet (reattach keeps it
   * live in the store, QEMU_UNREACHABLE) is neither rolled back nor taken for
   * gone: recovery waits for it and tries again.
   */
  private unreachable(rec: LedgerRecord, log: Logger): boolean {
    if (this.deps.host.domainRecord(rec.uuid)?.liveXml == null) return false;
    log.warn("the domain's QEMU runs but cannot be reached yet: recovery waits for it");
    this.retryLater(rec.id, rec.side, 5000);
    return true;
  }

  /** What shows that the incoming QEMU already runs the VM (its run state or its post-copy migration), or undefined. */
  private async incomingOwnsTheVm(rec: LedgerRecord<'destination'>): Promise<string | undefined> {
    const vm = this.deps.host.runningDomain(rec.uuid);
    if (!vm) return undefined;
    try {
      const [status, migration] = await Promise.all([vm.monitor.queryStatus(), new MigrationMonitor(vm.monitor).query()]);
      if (status.running) return `running (${status.status})`;
      if (migration.status && POSTCOPY_STATES.has(migration.status)) return `migration ${migration.status}`;
      return undefined;
    } catch (err) {
      // Cannot tell: keep it rather than risk the only copy.
      return `unknown (${(err as Error).message})`;
    }
  }

  private async discardIncoming(rec: LedgerRecord<'destination'>, why: string, log: Logger): Promise<void> {
    // A destination whose vCPUs ran (post-copy) holds the only live copy of the VM: invariant 4 says
    // the source never resumes, so discarding it would lose the VM. It stays, for the operator.
    const owner = await this.incomingOwnsTheVm(rec);
    if (owner) {
      log.error({ why, qemu: owner }, 'an incoming migration left behind already runs the VM here (post-copy): keeping it; recover or destroy it by hand');
      return;
    }
    log.warn({ why }, 'discarding an incoming migration left behind');
    await this.deps.destination.discardLeftBehind(rec.id, why).catch((err: unknown) => {
      // A full disk or a busy store: the incoming QEMU stays until the discard can be recorded; asked again in a while.
      log.error({ err }, 'cannot discard the incoming VM; trying again in 5 s');
      this.retryLater(rec.id, 'destination', 5000);
    });
  }
}

/** QEMU states in which an incoming VM has run its vCPUs here: the source's copy can never resume. */
const POSTCOPY_STATES = new Set(['postcopy-active', 'postcopy-paused', 'postcopy-recover', 'postcopy-recover-setup']);
