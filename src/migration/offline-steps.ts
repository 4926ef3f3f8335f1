import type { Logger } from 'pino';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import { notDelivered } from '../peer/peer-client.js';
import type { CommandRunner } from '../storage/command-runner.js';
import { copyToNbd, nbdUri, sameContents } from '../storage/nbd-copy.js';
import type { DomainRecord } from '../store/domain-store.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { CookieParts } from './cookie.js';
import type { DiskCopy } from './disk-plan.js';
import type { MigrationLedger } from './migration-ledger.js';
import type { PreparedContext, SourceContext, SourceSteps } from './migration-plan.js';
import { removeSourceNvram } from './nvram-transfer.js';

export interface OfflineStepsDeps {
  host: MigrationHost;
  ledger: MigrationLedger;
  run: CommandRunner;
  hostId: string;
  hostname: string;
  selfPeerUri?: string | undefined;
  now: () => number;
}

/** The domain an offline migration moves: its record, its persistent definition, and what goes along. */
export interface OfflineDomain {
  rec: DomainRecord & { persistentXml: string };
  def: DomainDefinition;
  /** It runs here (only its definition moves then). */
  running: boolean;
  /** The emulated TPM's state files (name → base64). */
  tpmState: Record<string, string> | undefined;
}

/**
 * Offline migration (`--offline --persistent`) as steps of the migration skeleton: the definition moves
 * to the destination, which shows the domain shut off. With --copy-storage-all the disks of a shut-off
 * domain go along in Perform: the destination creates them in the pool of the same name and serves them
 * over NBD; qemu-img copies them and then compares both sides before Finish.
 */
export class OfflineSteps implements SourceSteps {
  readonly def: DomainDefinition;

  constructor(
    private readonly deps: OfflineStepsDeps,
    private readonly domain: OfflineDomain,
  ) {
    this.def = domain.def;
  }

  cookie(ctx: SourceContext): Omit<CookieParts, 'migrationId' | 'nvram'> {
    const { rec, tpmState } = this.domain;
    const { plan } = ctx;
    return {
      domain: { name: rec.name, uuid: rec.uuid, xml: rec.persistentXml, persistentXml: rec.persistentXml },
      source: {
        hostId: this.deps.hostId,
        hostname: this.deps.hostname,
        qemuVersion: 'n/a',
        accel: 'tcg',
        ...(this.deps.selfPeerUri ? { peerUri: this.deps.selfPeerUri } : {}),
      },
      flags: {
        live: false,
        offline: true,
        suspend: false,
        persistent: true,
        undefineSource: plan.options.undefineSource,
        postcopy: false,
        sourceWasRunning: false,
      },
      ...(plan.storage ? { storage: { mode: plan.storage.mode, disks: plan.storage.disks } } : {}),
      ...(tpmState ? { tpm: { files: Object.keys(tpmState).length } } : {}),
    };
  }

  /** Copies each disk into the destination's qemu-nbd and compares both sides; domjobabort stops it. */
  async perform(ctx: PreparedContext): Promise<void> {
    const disks = ctx.plan.storage?.disks ?? [];
    const abort = new AbortController();
    const watchAbort = (): void => {
      void ctx.active.nextRequest(abort.signal).then(() => {
        if (ctx.active.abortRequested) abort.abort(new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client'));
        else if (!abort.signal.aborted) watchAbort();
      });
    };
    watchAbort();
    try {
      await this.copyDisks(ctx, disks, abort.signal);
    } catch (err) {
      if (abort.signal.aborted && abort.signal.reason instanceof FerryError) throw abort.signal.reason;
      throw err;
    } finally {
      if (!abort.signal.aborted) abort.abort();
    }
  }

  private async copyDisks(ctx: PreparedContext, disks: DiskCopy[], signal: AbortSignal): Promise<void> {
    const total = disks.reduce((a, d) => a + d.virtualSize, 0);
    let before = 0;
    for (const d of disks) {
      const serve = ctx.prepared.nbd?.find((n) => n.dev === d.dev);
      if (!serve) throw new FerryError('MIG_PEER_REFUSED', `operation failed: the destination does not serve disk ${d.dev}`);
      const target = nbdUri(ctx.target.host, serve.port, serve.export);
      ctx.log.info({ disk: d.dev, from: d.sourcePath }, 'copying disk');
      await copyToNbd({
        source: d.sourcePath,
        format: d.format,
        target,
        signal,
        onProgress: (p) => this.progress(ctx, total, before + Math.floor((d.virtualSize * p) / 100)),
      });
      if (!(await sameContents(this.deps.run, { source: d.sourcePath, format: d.format, target }))) {
        throw new FerryError('MIG_FAILED', `operation failed: the copy of disk ${d.dev} differs from ${d.sourcePath}: it is corrupted and was removed`);
      }
      before += d.virtualSize;
      this.progress(ctx, total, before);
    }
  }

  private progress(ctx: SourceContext, total: number, done: number): void {
    const { active } = ctx;
    const percent = total === 0 ? 100 : Math.min(99, Math.floor((100 * done) / total));
    active.job = { ...active.job, dataProcessed: done, dataTotal: total, dataRemaining: total - done, percent, timeElapsedMs: this.deps.now() - ctx.startedAt };
    this.deps.host.publish({ type: 'migration.progress', id: ctx.id, uuid: active.uuid, name: active.name, job: active.job, at: this.deps.now() });
  }

  async finish(ctx: PreparedContext): Promise<void> {
    const { rec, tpmState } = this.domain;
    await ctx.peer.call(PEER.finish, {
      params: { id: ctx.id },
      body: { resume: false, postcopy: false, persistentXml: rec.persistentXml, stats: { ...ctx.active.job }, ...(tpmState ? { tpmState } : {}) },
    });
  }

  async confirm(ctx: PreparedContext): Promise<void> {
    if (ctx.plan.options.undefineSource && !this.domain.running) {
      this.deps.host.undefineRecord(this.domain.rec.uuid);
      removeSourceNvram(ctx.nvram, ctx.prepared.nvramShared);
    }
  }

  async rollback(ctx: SourceContext, err: unknown): Promise<unknown> {
    const { active, log } = ctx;
    const outcome = err instanceof FerryError && err.code === 'MIG_CANCELLED' ? 'Cancelled' : 'Failed';
    active.job = { ...active.job, type: outcome, error: (err as Error).message };
    const inPrepare = active.phase === 'Prepare';
    if (active.phase !== 'Confirm') ctx.enter(outcome, { stats: { ...active.job }, error: (err as Error).message });
    if (!notDelivered(err) || !inPrepare) await this.abortDestination(ctx, log);
    this.deps.ledger.cleanedUp(ctx.id, 'source');
    return err;
  }

  private async abortDestination(ctx: SourceContext, log: Logger): Promise<void> {
    await ctx.peer.call(PEER.abort, { params: { id: ctx.id } }).catch((e) => log.warn({ err: e }, 'cannot tell the destination to abort'));
  }
}
