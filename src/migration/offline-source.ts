import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { MigrationHost } from './migration-host.js';
import { notDelivered } from '../peer/peer-client.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import { migrationHostOf } from '../peer/peer-address.js';
import { migrationDataHost } from './data-host.js';
import type { CommandRunner } from '../storage/command-runner.js';
import { copyToNbd, nbdUri, sameContents } from '../storage/nbd-copy.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import type { MigrationStore } from '../store/migration-store.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { emulatedTpm } from '../host/swtpm.js';
import { ActiveMigration } from './active-migration.js';
import type { MigrationCookie } from './cookie.js';
import { type NvramSection, nvramSection, removeNvramProbe, removeSourceNvram } from './nvram-transfer.js';
import type { PrepareResult } from './destination.js';
import { planDiskCopies } from './disk-plan.js';
import type { MigrationOptions } from './options.js';
import { recordSourcePhase } from './phase-recorder.js';
import type { MigrationMetrics } from '../metrics/ferry-metrics.js';
import type { MigrationResult } from './source.js';

export interface OfflineDeps {
  host: MigrationHost;
  metrics?: MigrationMetrics;
  migrations: MigrationStore;
  storage: StorageService;
  qemuImg: QemuImg;
  run: CommandRunner;
  hostId: string;
  hostname: string;
  selfPeerUri?: string;
  peers: PeerConnector;
  active: Map<string, ActiveMigration>;
  log: Logger;
  now: () => number;
}

/**
 * Offline migration (`--offline --persistent`), as in the seed: the
 * definition moves to the destination, which shows the domain shut off.
 * With --copy-storage-all the disks of a shut-off domain go along: the
 * destination creates them in the pool of the same name and serves them over
 * NBD; qemu-img copies them and then compares both sides before Finish.
 */
export async function migrateOffline(deps: OfflineDeps, ref: string, destUri: string, o: MigrationOptions): Promise<MigrationResult> {
  const { host, migrations } = deps;
  const rec = host.lookup(ref);
  if (rec.persistentXml === null) {
    throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot migrate a transient domain offline');
  }
  const running = rec.liveXml !== null;
  if (running && o.copyStorage !== 'none') {
    throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is running: copying its disks offline needs it shut off (or migrate it --live --copy-storage-all)');
  }
  const peer = deps.peers.client(destUri);
  const def = parseDomainXml(rec.persistentXml);
  const disks = o.copyStorage === 'none' ? [] : await planDiskCopies(def, o.migrateDisks ? { migrateDisks: o.migrateDisks } : {}, deps);
  const warnings = running ? ['the domain keeps running here: an offline migration copies only its definition'] : [];
  // The emulated TPM's state (a few KiB of files) goes along, as a shut-off domain's NVRAM and disks would.
  const tpmState = emulatedTpm(def) ? host.tpmState(def) : undefined;

  const release = await host.beginMigrationJob(rec.uuid, 'migration out');
  const id = randomUUID();
  const startedAt = deps.now();
  const active = new ActiveMigration(id, rec.uuid, rec.name, 'source', startedAt);
  active.job = { ...active.job, operation: 'Offline migration' };
  deps.active.set(rec.uuid, active);
  const log = deps.log.child({ vm: rec.name, migration: id, side: 'source', offline: true });
  migrations.create({ id, side: 'source', uuid: rec.uuid, name: rec.name, phase: 'Begin', peer: destUri, options: { ...o }, data: { sourceWasRunning: false } });
  const phase = (to: Parameters<typeof recordSourcePhase>[2], patch?: Parameters<typeof recordSourcePhase>[3]): void =>
    recordSourcePhase({ host, migrations, now: deps.now, metrics: deps.metrics }, active, to, patch);
  const total = disks.reduce((a, d) => a + d.virtualSize, 0);
  const progress = (done: number): void => {
    active.job = { ...active.job, dataProcessed: done, dataTotal: total, dataRemaining: total - done, percent: total === 0 ? 100 : Math.min(99, Math.floor((100 * done) / total)), timeElapsedMs: deps.now() - startedAt };
    host.publish({ type: 'migration.progress', id, uuid: rec.uuid, name: rec.name, job: active.job, at: deps.now() });
  };
  let nvram: NvramSection | undefined;
  try {
    const cookie: MigrationCookie = {
      version: 1,
      migrationId: id,
      mandatory: [...(disks.length > 0 ? ['domain', 'flags', 'storage'] as const : ['domain', 'flags'] as const), ...(tpmState ? ['tpm'] as const : [])],
      domain: { name: rec.name, uuid: rec.uuid, xml: rec.persistentXml, persistentXml: rec.persistentXml },
      source: { hostId: deps.hostId, hostname: deps.hostname, qemuVersion: 'n/a', accel: 'tcg', ...(deps.selfPeerUri ? { peerUri: deps.selfPeerUri } : {}) },
      flags: { live: false, offline: true, suspend: false, persistent: true, undefineSource: o.undefineSource, postcopy: false, sourceWasRunning: false },
      tuning: { capabilities: {}, sharedParameters: {} },
      ...(disks.length > 0 ? { storage: { mode: o.copyStorage === 'inc' ? 'inc' as const : 'all' as const, disks } } : {}),
      ...(tpmState ? { tpm: { files: Object.keys(tpmState).length } } : {}),
    };
    // The UEFI variable store goes with the definition (copied, unless the destination shares the file).
    nvram = nvramSection(def, (format) => host.defaultNvramPath(rec.name, format), id);
    if (nvram) {
      cookie.nvram = nvram;
      cookie.mandatory.push('nvram');
    }
    phase('Prepare');
    const prepared = await peer.post<PrepareResult>('/peer/v1/migrations/prepare', { cookie });
    phase('Perform');
    const nbdHost = migrationDataHost(o, prepared.connectHost, migrationHostOf(peer.address));
    const abort = new AbortController();
    const watchAbort = (): void => {
      void active.nextRequest(abort.signal).then(() => {
        if (active.abortRequested) abort.abort(new FerryError('MIG_CANCELLED', 'operation aborted: migration out: canceled by client'));
        else if (!abort.signal.aborted) watchAbort();
      });
    };
    watchAbort();
    let before = 0;
    try {
      for (const d of disks) {
        const serve = prepared.nbd?.find((n) => n.dev === d.dev);
        if (!serve) throw new FerryError('MIG_PEER_REFUSED', `operation failed: the destination does not serve disk ${d.dev}`);
        const target = nbdUri(nbdHost, serve.port, serve.export);
        log.info({ disk: d.dev, from: d.sourcePath }, 'copying disk');
        await copyToNbd({ source: d.sourcePath, format: d.format, target, signal: abort.signal, onProgress: (p) => progress(before + Math.floor((d.virtualSize * p) / 100)) });
        if (!(await sameContents(deps.run, { source: d.sourcePath, format: d.format, target }))) {
          throw new FerryError('MIG_FAILED', `operation failed: the copy of disk ${d.dev} differs from ${d.sourcePath}: it is corrupted and was removed`);
        }
        before += d.virtualSize;
        progress(before);
      }
    } catch (err) {
      if (abort.signal.aborted && abort.signal.reason instanceof FerryError) throw abort.signal.reason;
      throw err;
    } finally {
      if (!abort.signal.aborted) abort.abort();
    }
    phase('Finish');
    await peer.post(`/peer/v1/migrations/${id}/finish`, { resume: false, postcopy: false, persistentXml: rec.persistentXml, stats: { ...active.job }, ...(tpmState ? { tpmState } : {}) });
    phase('Confirm');
    if (o.undefineSource && !running) {
      host.undefineRecord(rec.uuid);
      removeSourceNvram(nvram, prepared.nvramShared);
    }
    const wallMs = deps.now() - startedAt;
    active.job = { ...active.job, type: 'Completed', percent: 100, timeElapsedMs: wallMs, phase: 'Succeeded' };
    phase('Succeeded', { stats: { ...active.job } });
    migrations.markCleanupDone(id, 'source');
    log.info({ wallMs, disks: disks.length }, 'offline migration succeeded');
    return { id, name: rec.name, dest: destUri, job: active.job, warnings, wallMs };
  } catch (err) {
    const outcome = err instanceof FerryError && err.code === 'MIG_CANCELLED' ? 'Cancelled' : 'Failed';
    active.job = { ...active.job, type: outcome, error: (err as Error).message };
    if (active.phase !== 'Confirm') phase(outcome, { stats: { ...active.job }, error: (err as Error).message });
    if (!notDelivered(err) || active.phase !== 'Prepare') {
      await peer.post(`/peer/v1/migrations/${id}/abort`, {}).catch((e) => log.warn({ err: e }, 'cannot tell the destination to abort'));
    }
    migrations.markCleanupDone(id, 'source');
    throw err;
  } finally {
    removeNvramProbe(nvram);
    deps.active.delete(rec.uuid);
    release();
  }
}
