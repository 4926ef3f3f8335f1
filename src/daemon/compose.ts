import os from 'node:os';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { logDestination } from '../system/log-destination.js';
import { runsAsSystemdService } from '../system/systemd/host-systemd.js';
import { MachineScopes } from '../system/systemd/machine-scope.js';
import { buildApp } from '../api/app.js';
import { PeerConnector } from '../peer/peer-connector.js';
import { openListeners } from './listeners.js';
import { BlockCopyService } from '../host/block-copy.js';
import { DiskHotplugService } from '../host/disk-hotplug.js';
import { DomainLauncher } from '../host/domain-launcher.js';
import { ensureDirectory, tightenStateModes } from './state-directories.js';
import { StateDirLock } from './state-lock.js';
import { removeStartupLeftovers } from './startup-leftovers.js';
import { QemuFileAccess } from '../host/qemu-file-access.js';
import { TapOpener } from '../system/tap-device.js';
import { type UnixAccount, unixAccount } from '../system/unix-user.js';
import { FerryError } from '../errors/ferry-error.js';
import { HostPaths } from '../host/host-paths.js';
import { HostService } from '../host/host-service.js';
import { QemuCapabilities } from '../host/qemu-capabilities.js';
import { Reattacher } from '../host/reattach.js';
import { MigrationService } from '../migration/migration-service.js';
import { PortAllocator } from '../system/port-allocator.js';
import { MigrationStore } from '../store/migration-store.js';
import { openDatabase, type FerryDatabase } from '../store/database.js';
import { DomainStore } from '../store/domain-store.js';
import { readOrCreateHostId } from '../store/host-identity.js';
import { DomainJobs } from '../vm/jobs.js';
import { DirBackend } from '../storage/backends/dir-backend.js';
import { LeaseKeeper } from '../host/lease-keeper.js';
import { LockdClient } from '../locking/lockd-client.js';
import { type LockDriver, NopLockDriver } from '../locking/lock-driver.js';
import { VmLocks } from '../locking/vm-locks.js';
import { LockService } from '../host/lock-service.js';
import { PreflightService } from '../preflight/preflight-service.js';
import { CachedResolver } from '../preflight/name-resolution.js';
import { VolumeUuids } from '../locking/volume-uuid.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IscsiBackend } from '../storage/backends/iscsi-backend.js';
import { LogicalBackend } from '../storage/backends/logical-backend.js';
import { MountBackend } from '../storage/backends/mount-backend.js';
import { runCommand } from '../storage/command-runner.js';
import { PoolStore } from '../storage/pool-store.js';
import { QemuImg } from '../storage/qemu-img.js';
import { StorageService } from '../storage/storage-service.js';
import { LinuxBridges, runIp } from '../network/host-bridges.js';
import { NetworkService } from '../network/network-service.js';
import { NetworkStore } from '../network/network-store.js';
import { SecretService } from '../secrets/secret-service.js';
import { SecretStore } from '../secrets/secret-store.js';
import type { DaemonConfig } from './config.js';
import { ConsoleService } from '../console/console-service.js';
import { FerryMetrics } from '../metrics/ferry-metrics.js';
import { openMetricsListener, type MetricsListener } from '../metrics/metrics-listener.js';
import { daemonMetricSources } from '../metrics/metric-sources.js';
import { AuditStore } from '../store/audit-store.js';
import { MigrationHistory } from '../store/migration-history.js';
import { PeerCredentialReader } from '../system/peer-credentials.js';
import { RetentionPruner } from './retention.js';
import { DomainLogRotation } from '../host/domain-log-rotation.js';
import { AppendLogRotator } from '../system/log-rotation.js';

export interface RunningDaemon {
  config: DaemonConfig;
  service: HostService;
  storage: StorageService;
  migrations: MigrationService;
  app: FastifyInstance;
  hostId: string;
  log: Logger;
  /** Stops serving; running VMs keep running. */
  close(): Promise<void>;
}

/**
 * The composition root: the only place where real implementations are wired
 * together. Everything below takes its collaborators as arguments, so a test
 * process can run two daemons side by side.
 */
export async function startDaemon(config: DaemonConfig, options: { log?: Logger } = {}): Promise<RunningDaemon> {
  const log = options.log ?? pino({ level: config.logLevel, base: { host: os.hostname() } }, logDestination('ferryd'));
  const paths = new HostPaths(config.stateDir);
  ensureDirectory(config.stateDir, 'state directory', 0o711);
  // One ferryd per state directory: a second one would take the running VMs for lost.
  const stateLock = StateDirLock.acquire(config.stateDir);
  try {
    return await startLocked(config, { log, paths, stateLock });
  } catch (err) {
    stateLock.release();
    throw err;
  }
}

async function startLocked(config: DaemonConfig, o: { log: Logger; paths: HostPaths; stateLock: StateDirLock }): Promise<RunningDaemon> {
  const { log, paths, stateLock } = o;
  ensureDirectory(paths.runDir, 'run directory', 0o711);
  ensureDirectory(paths.logDir, 'log directory', 0o711);
  tightenStateModes({ stateDir: config.stateDir, runDir: paths.runDir, logDir: paths.logDir, database: paths.database });
  const probeDir = `${paths.runDir}/accel-probe`;
  removeStartupLeftovers({ dir: probeDir, log });
  const account = qemuAccount(config);

  const db: FerryDatabase = openDatabase(paths.database);
  const hostId = readOrCreateHostId(db);
  const store = new DomainStore(db);
  const caps = new QemuCapabilities({
    accel: config.accel,
    log,
    probeDir,
    account,
    probeTimeoutMs: config.testKvmProbeTimeoutMs,
    ...(config.testKvmDevice ? { devKvm: config.testKvmDevice } : {}),
  });
  void caps.accel(config.qemuBinary).catch(() => undefined); // probe early, in the background
  const qemuImg = new QemuImg(runCommand);
  const mountBackend = new MountBackend(qemuImg, runCommand);
  const storage = new StorageService({
    store: new PoolStore(db),
    backends: {
      dir: new DirBackend(qemuImg),
      netfs: mountBackend,
      fs: mountBackend,
      gluster: mountBackend,
      logical: new LogicalBackend(runCommand),
      iscsi: new IscsiBackend(runCommand),
    },
    jobs: new DomainJobs(config.jobWaitTimeout * 1000),
    log,
  });
  await storage.autostartAll();
  const networks = new NetworkService({
    store: new NetworkStore(db),
    bridges: new LinuxBridges({ run: runIp }),
    jobs: new DomainJobs(config.jobWaitTimeout * 1000),
    log,
  });
  await networks.startAtBoot();
  const secrets = new SecretService(new SecretStore(db));
  const access = new QemuFileAccess({ account, dynamicOwnership: config.dynamicOwnership });
  const launcher = new DomainLauncher({
    machines: new MachineScopes({ log }),
    paths,
    caps,
    qemuBinary: config.qemuBinary,
    hostId,
    log,
    access,
    taps: new TapOpener(),
    sandbox: config.seccompSandbox,
    resolveVolume: (pool, volume) => storage.resolve(pool, volume),
    resolveNetwork: (network) => networks.bridgeOf(network),
    networkAddress: (network) => networks.addressOf(network),
    secrets,
    displayListen: { vnc: config.vncListen, spice: config.spiceListen },
    graphicsPorts: displayPorts(5900),
    websocketPorts: displayPorts(5700),
    qemuTls: {
      ...(config.spiceTls ? { spiceDir: config.spiceTlsX509CertDir || config.tlsDir } : {}),
      nbdDir: config.nbdTlsX509CertDir || config.tlsDir,
    },
  });
  const locks = new VmLocks({
    driver: lockDriver(config, paths, log),
    config: {
      autoDiskLeases: config.autoDiskLeases,
      requireLeaseForDisks: config.requireLeaseForDisks ?? !config.autoDiskLeases,
      ...(config.fileLockspaceDir ? { fileLockspaceDir: config.fileLockspaceDir } : {}),
      ...(config.lvmLockspaceDir ? { lvmLockspaceDir: config.lvmLockspaceDir } : {}),
      ...(config.scsiLockspaceDir ? { scsiLockspaceDir: config.scsiLockspaceDir } : {}),
    },
    uuids: new VolumeUuids(runCommand),
    diskPath: (disk) => launcher.diskPath(disk),
    log,
  });
  if (locks.driver instanceof LockdClient) {
    await locks.driver.ensureRunning().catch((err) => log.error({ err }, 'ferry-lockd is not available: domains with disks cannot start'));
  }
  const service = new HostService({
    store,
    locks,
    jobs: new DomainJobs(config.jobWaitTimeout * 1000),
    launcher,
    caps,
    qemuBinary: config.qemuBinary,
    hostname: os.hostname(),
    log,
  });

  const reattacher = new Reattacher({ store, paths, service, launcher, log });
  const { reattached, lost, pending } = await reattacher.run();
  if (reattached.length + lost.length + pending.length > 0) log.info({ reattached, lost, unreachable: pending }, 'reattached to running domains');
  try {
    const stale = service.cgroups.removeStale();
    if (stale.length > 0) log.info({ cgroups: stale }, 'removed the cgroups of domains whose QEMU is gone');
  } catch (err) {
    log.warn({ err }, 'could not look for stale domain cgroups');
  }

  const logRotation = new DomainLogRotation({
    host: service,
    paths,
    rotator: new AppendLogRotator(),
    limits: { maxSize: config.logMaxSize, maxBackups: config.logMaxBackups },
    intervalMs: config.testLogRotateIntervalMs,
    log,
  });
  logRotation.start();

  const ports = new PortAllocator(config.migrationPortMin, config.migrationPortMax);
  const active = new Map<string, import('../migration/active-migration.js').ActiveMigration>();
  const blockCopies = new BlockCopyService({ host: service, storage, qemuImg, log });
  const diskHotplug = new DiskHotplugService({ host: service, log });
  const resolver = new CachedResolver(config.dnsServers);
  const migrationTls = { dir: config.tlsDir, force: config.migrateTlsForce };
  const hostname = config.hostname || os.hostname();
  const peers = new PeerConnector({ tlsDir: config.tlsDir });
  // One registry per daemon, passed to what records into it (two ferryds in one test process keep theirs apart).
  const metrics = new FerryMetrics(daemonMetricSources({ host: service, lockd: locks.driver instanceof LockdClient ? locks.driver : undefined }));
  const preflight: PreflightService = new PreflightService({
    host: service,
    storage,
    hostname: config.hostname || os.hostname(),
    resolver,
    maxClockOffsetMs: config.maxClockOffset,
    busy: (uuid) => ({ migrating: active.has(uuid), blockJob: blockCopies.hasJob(uuid) }),
    peers,
    tls: migrationTls,
    metrics,
    // Bound late: the migration service (built next) owns the forecaster.
    forecast: (uuid, destUri, o) => migrations.forecastWithPolicy(uuid, destUri, o),
    log,
  });
  const migrationHistory = new MigrationHistory(db);
  const migrations: MigrationService = new MigrationService({
    host: service,
    active,
    preflight,
    migrations: new MigrationStore(db),
    storage,
    qemuImg,
    run: runCommand,
    runDir: paths.runDir,
    ports,
    hostId,
    hostname: os.hostname(),
    migrationAddress: config.migrationAddress,
    migrationHost: config.migrationHost,
    selfPeerUri: selfPeerUri(config, hostname),
    peers,
    tls: migrationTls,
    policyDefault: config.migrationPolicy,
    orphanTimeoutMs: config.testMigrationOrphanTimeoutMs,
    postcopyRecoverAttempts: config.migrationPostcopyRecoverAttempts,
    progressTimeoutMs: config.migrationProgressTimeout * 1000,
    metrics,
    history: () => migrationHistory.list({ limit: 200 }),
    dirtyRateWindowMs: config.migrateDirtyRateWindowMs,
    log,
  });

  const lockService = new LockService({
    host: service,
    hostname,
    peers: config.peers,
    connector: peers,
    lockspaces: [config.fileLockspaceDir, config.lvmLockspaceDir, config.scsiLockspaceDir].filter((d) => d !== ''),
  });
  const preflightDestination = {
    host: service,
    storage,
    networks,
    caps,
    ports,
    qemuBinary: config.qemuBinary,
    hostname,
    migrationAddress: config.migrationAddress,
    migrationHost: config.migrationHost,
    memoryOvercommit: config.memoryOvercommit,
    cpuOvercommit: config.cpuOvercommit,
    clockOffsetMs: config.testClockOffsetMs,
    resolver,
    tlsDir: config.tlsDir,
    migrateTlsForce: config.migrateTlsForce,
    secrets,
  };
  const consoles = new ConsoleService({ host: service, log });
  const audit = { store: new AuditStore(db), history: migrationHistory, credentials: new PeerCredentialReader() };
  const pruner = new RetentionPruner({
    audit: audit.store,
    history: audit.history,
    auditDays: config.auditRetentionDays,
    historyDays: config.migrationHistoryRetentionDays,
    log,
  });
  pruner.start();
  const appDeps = {
    service,
    migrations,
    storage,
    networks,
    blockCopies,
    diskHotplug,
    locks: lockService,
    preflight: { service: preflight, destination: preflightDestination },
    consoles,
    secrets,
    metrics,
    audit,
    log,
  };
  // Before the API's sockets: once the read-write socket answers, /metrics does too.
  const metricsListener: MetricsListener | undefined = config.metricsListen ? await openMetricsListener(config.metricsListen, metrics, log) : undefined;
  const listeners = await openListeners(config, (listener) => buildApp(appDeps, listener), log).catch(async (err: unknown) => {
    await metricsListener?.close();
    throw err;
  });
  const app = listeners.main;
  log.info({ socket: config.socket, stateDir: config.stateDir, hostId }, 'ferryd ready');
  // Migrations a restart interrupted: finish or roll back, in the background (peers may be slow to answer).
  // Then the running domains' leases are checked (a ferry-lockd that ended while ferryd was down held them)
  // and kept: a lockd that ends from now on is started again and the leases taken back.
  const keeper =
    locks.driver instanceof LockdClient
      ? new LeaseKeeper({
          host: service,
          lockd: locks.driver,
          busy: (uuid) => active.has(uuid) || migrations.recovery.resolves(uuid),
          fenceOnLoss: config.lockdBackend === 'etcd',
          log,
        })
      : undefined;
  void migrations.recovery.recoverAll().finally(() => keeper?.start().catch((err: unknown) => log.error({ err }, 'lease check failed')));

  let closed = false;
  return {
    config,
    service,
    storage,
    migrations,
    app,
    hostId,
    log,
    async close() {
      if (closed) return;
      closed = true;
      keeper?.stop();
      pruner.stop();
      logRotation.stop();
      reattacher.stop();
      // Console streams are upgraded connections the servers no longer track: they end first, or closing would wait for them.
      consoles.close();
      await listeners.close();
      await metricsListener?.close();
      peers.close();
      migrations.recovery.close();
      service.detachAll();
      db.close();
      stateLock.release();
    },
  };
}

/** The account QEMU runs as (user and group in ferryd.conf); undefined: as ferryd itself. */
function qemuAccount(config: DaemonConfig): UnixAccount | undefined {
  // A ferryd that is not root (the session daemon) runs QEMU as its own user, as libvirt's qemu:///session.
  if (config.user === 'root' || config.user === '0' || process.getuid?.() !== 0) return undefined;
  const account = unixAccount(config.user, config.group);
  if (!account) {
    throw new FerryError('CONFIG_INVALID', `QEMU's user '${config.user}'${config.group ? ` or group '${config.group}'` : ''} does not exist`, {
      hint: `Create it (useradd --system --no-create-home --shell /usr/sbin/nologin ${config.user}; scripts/setup.sh does), or name another with user = "..." in ferryd.conf`,
    });
  }
  return account;
}

/** lock_manager: nop, or lockd (ferry-lockd beside ferryd's socket, started on demand and left running). */
function lockDriver(config: DaemonConfig, paths: HostPaths, log: Logger): LockDriver {
  if (config.lockManager === 'nop') return new NopLockDriver();
  const socket = config.lockdSocket || `${dirname(config.socket)}/ferry-lockd.sock`;
  const bin = lockdBinary();
  const args = [bin, '--socket', socket, '--backend', config.lockdBackend, '--log-level', config.logLevel];
  if (config.lockdBackend === 'etcd') {
    args.push(
      '--etcd-endpoints',
      config.etcdEndpoints.join(','),
      '--etcd-prefix',
      config.etcdPrefix,
      '--lease-ttl',
      String(config.leaseTtl),
      '--host-id',
      os.hostname() + ':' + paths.stateDir,
    );
  }
  // Under systemd ferry-lockd is its own (socket-activated) unit: a lockd spawned here would sit in
  // ferryd's cgroup and be stopped with ferryd, its leases with it.
  if (runsAsSystemdService()) return new LockdClient({ socket, log });
  return new LockdClient({ socket, spawn: { command: process.execPath, args, logFile: `${paths.logDir}/ferry-lockd.log` }, log });
}

/**
 * The ferry-lockd that ferryd starts on demand: beside a bundled ferryd (the Debian package's
 * /usr/lib/ferry/ferryd.mjs and ferry-lockd.mjs), else the checkout's bin/ferry-lockd.
 */
function lockdBinary(): string {
  const bundled = fileURLToPath(new URL('./ferry-lockd.mjs', import.meta.url));
  return existsSync(bundled) ? bundled : fileURLToPath(new URL('../../../bin/ferry-lockd', import.meta.url));
}

/** How other ferryds reach this one (recorded in migrations for recovery): TLS if it listens, else plain TCP if enabled, else its socket. */
function selfPeerUri(config: DaemonConfig, hostname: string): string {
  if (config.listen) return `ferry+tls://${hostname}:${config.listen.replace(/^.*:/, '')}/system`;
  if (config.listenTcp) return `ferry+tcp://${config.listenTcp}/system`;
  return `ferry:///system?socket=${config.socket}`;
}

/** The ports autoport displays take, from `min` up, as libvirt's remote_display_port_min and websocket ranges. */
function displayPorts(min: number): PortAllocator {
  return new PortAllocator(
    min,
    65535,
    (address, lo, hi) => new FerryError('DISPLAY_PORT_UNAVAILABLE', `Unable to find an unused port for the display in range ${lo}-${hi} on ${address}`),
  );
}
