import { pino } from 'pino';
import { DomainLauncher } from '../../src/host/domain-launcher.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { HostService } from '../../src/host/host-service.js';
import { QemuCapabilities } from '../../src/host/qemu-capabilities.js';
import { QemuFileAccess } from '../../src/host/qemu-file-access.js';
import type { RunningDomain } from '../../src/host/running-domain.js';
import { NopLockDriver } from '../../src/locking/lock-driver.js';
import { VmLocks } from '../../src/locking/vm-locks.js';
import { VolumeUuids } from '../../src/locking/volume-uuid.js';
import { MigrationService } from '../../src/migration/migration-service.js';
import { PortAllocator } from '../../src/system/port-allocator.js';
import { PeerConnector } from '../../src/peer/peer-connector.js';
import type { QemuRunState } from '../../src/qemu/monitor.js';
import { runCommand } from '../../src/storage/command-runner.js';
import { openDatabase, type FerryDatabase } from '../../src/store/database.js';
import { DomainStore } from '../../src/store/domain-store.js';
import { type MigrationRecord, type MigrationSide, MigrationStore } from '../../src/store/migration-store.js';
import { TapOpener } from '../../src/system/tap-device.js';
import type { DomainStatus } from '../../src/shared/domain-state.js';
import { DomainJobs } from '../../src/vm/jobs.js';
import { tempDir } from '../helpers/tmp.js';
import { domainXml, FakeQemu, fakeRunningDomain } from './fake-qemu.js';
import { FakePeer } from './fake-peer.js';
import type { Transcript } from './qmp-transcript.js';

/** A dependency the code under test must not touch on these paths: any use fails the test, by name. */
function unused<T>(name: string): T {
  return new Proxy(
    {},
    {
      get: (_t, p) => {
        throw new Error(`the recovery harness has no ${name} (used: ${String(p)})`);
      },
    },
  ) as T;
}

export const UUID = '6f2a1c2e-0000-4000-8000-000000000001';
export const NAME = 'rcv';

/**
 * One host's migration machinery with real components except QEMU and the other ferryd: real SQLite
 * stores, a real HostService, the real MigrationService (its MigrationDestination and MigrationRecovery),
 * a real PeerConnector talking HTTP to a FakePeer, and fake QEMUs (test/fakes/fake-qemu.ts) adopted as
 * running domains. The single place that builds these: when their constructors change, change it here.
 */
export class RecoveryHarness {
  readonly log = pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' });
  readonly db: FerryDatabase;
  readonly domains: DomainStore;
  readonly migrations: MigrationStore;
  readonly host: HostService;
  readonly service: MigrationService;
  readonly peers = new PeerConnector({ tlsDir: '/nonexistent' });
  private readonly qemus: FakeQemu[] = [];

  private constructor(
    readonly dir: { path: string; cleanup: () => void },
    readonly peer: FakePeer,
    o: { orphanTimeoutMs?: number },
  ) {
    this.db = openDatabase(':memory:');
    this.domains = new DomainStore(this.db);
    this.migrations = new MigrationStore(this.db);
    const paths = new HostPaths(dir.path);
    const caps = new QemuCapabilities({ accel: 'tcg', log: this.log, probeDir: `${dir.path}/probe` });
    const launcher = new DomainLauncher({
      paths,
      caps,
      qemuBinary: '/nonexistent/qemu',
      hostId: 'h',
      log: this.log,
      access: new QemuFileAccess({ account: undefined, dynamicOwnership: false }),
      taps: new TapOpener(),
      sandbox: true,
      graphicsPorts: new PortAllocator(5900, 65535),
      websocketPorts: new PortAllocator(5700, 65535),
    });
    this.host = new HostService({
      store: this.domains,
      locks: new VmLocks({
        driver: new NopLockDriver(),
        config: { autoDiskLeases: true, requireLeaseForDisks: false },
        uuids: new VolumeUuids(runCommand),
        diskPath: () => undefined,
        log: this.log,
      }),
      jobs: new DomainJobs(100),
      launcher,
      caps,
      qemuBinary: '/nonexistent/qemu',
      hostname: 'here',
      log: this.log,
    });
    this.service = new MigrationService({
      host: this.host,
      active: new Map(),
      preflight: unused('preflight'),
      migrations: this.migrations,
      storage: unused('storage'),
      qemuImg: unused('qemuImg'),
      run: unused('run'),
      runDir: `${dir.path}/run`,
      ports: new PortAllocator(49152, 49215),
      hostId: 'h',
      hostname: 'here',
      migrationAddress: '127.0.0.1',
      peers: this.peers,
      tls: { dir: `${dir.path}/tls`, force: false },
      ...(o.orphanTimeoutMs !== undefined ? { orphanTimeoutMs: o.orphanTimeoutMs } : {}),
      log: this.log,
    });
  }

  static async start(o: { orphanTimeoutMs?: number } = {}): Promise<RecoveryHarness> {
    const dir = tempDir('ferry-rcv-');
    return new RecoveryHarness(dir, await FakePeer.listen(`${dir.path}/peer.sock`), o);
  }

  /**
   * The domain in the store (persistent), and running: with `qemu`, a fake QEMU in that run state adopted
   * by the host; with `qemu: 'unreachable'`, live in the store but no QEMU followed (reattach could not reach it).
   */
  async domain(
    o: { qemu?: QemuRunState | 'unreachable'; transcript?: Transcript; status?: DomainStatus; persistent?: boolean } = {},
  ): Promise<{ qemu?: FakeQemu; vm?: RunningDomain }> {
    this.domains.saveDefinition({ uuid: UUID, name: NAME, persistentXml: o.persistent === false ? null : domainXml(UUID, NAME) });
    if (!o.qemu) return {};
    this.domains.markRunning(UUID, { liveXml: domainXml(UUID, NAME), pid: 1, state: 'paused', reason: 'migrating', startedAt: Date.now() });
    if (o.qemu === 'unreachable') return {};
    const name = `q${this.qemus.length}`;
    const qemu = await FakeQemu.start({ dir: this.dir.path, name, runstate: o.qemu, ...(o.transcript ? { transcript: o.transcript } : {}) });
    this.qemus.push(qemu);
    const vm = fakeRunningDomain(qemu, { uuid: UUID, name: NAME, log: this.log, ...(o.status ? { status: o.status } : {}) });
    this.host.adopt(vm);
    return { qemu, vm };
  }

  /** A migration record as ferryd left it when it stopped: this side, in this phase. */
  record(o: {
    side: MigrationSide;
    phase: string;
    id?: string;
    peer?: string;
    data?: Record<string, unknown>;
    options?: Record<string, unknown>;
    error?: string;
  }): MigrationRecord {
    const id = o.id ?? 'mig-1';
    const peer = o.peer ?? this.peer.uri;
    this.migrations.create({ id, side: o.side, uuid: UUID, name: NAME, phase: o.phase, peer, options: o.options ?? {}, data: o.data ?? {} });
    if (o.error) this.migrations.setPhase(id, o.side, o.phase, { error: o.error });
    return this.migrations.get(id, o.side) as MigrationRecord;
  }

  /** What a restarted ferryd does first. */
  recoverAll(): Promise<void> {
    return this.service.recovery.recoverAll();
  }

  get(side: MigrationSide, id = 'mig-1'): MigrationRecord {
    return this.migrations.get(id, side) as MigrationRecord;
  }

  /** The phases the record went through, in order. */
  phases(side: MigrationSide, id = 'mig-1'): string[] {
    return this.migrations.phaseLog(id, side).map((p) => p.phase);
  }

  async close(): Promise<void> {
    this.service.recovery.close();
    for (const q of this.qemus) await q.close();
    await this.peer.close();
    this.peers.close();
    this.db.close();
    this.dir.cleanup();
  }
}
