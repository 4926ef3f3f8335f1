import { missingCpuFeatures } from './cpu-model-check.js';
import { statSync } from 'node:fs';
import { smartcardDatabases } from '../vm/devices/smartcard.js';
import { emulatedTpm } from '../host/swtpm.js';
import { needsDbusDaemon } from '../host/dbus-daemon.js';
import { domainSecretNeeds } from '../qemu/devices/disk-secrets.js';
import { hugepageMemoryKiB } from '../qemu/devices/memory.js';
import { vhostNetDevice } from '../qemu/devices/nic.js';
import { pinnedSets } from './pinning-check.js';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { HostService } from '../host/host-service.js';
import type { MigrationOptions } from '../shared/migration-options-schema.js';
import type { PeerConnector } from '../peer/peer-connector.js';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import { migrationHostOf } from '../peer/peer-address.js';
import { migrateUriPort, migrationDataHost } from '../migration/data-host.js';
import { formatVersion } from '../qemu/binary.js';
import type { StorageService } from '../storage/storage-service.js';
import type { DomainDefinition } from '../vm/definition.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { applyUnsafe, type CheckResult, sortResults } from '../shared/check-result.js';
import { type CheckId, CHECKS } from '../shared/preflight-checks.js';
import { cpuFlags, diskSize } from './host-facts.js';
import type { PreflightDisk, PreflightRequest } from '../shared/peer-protocol/preflight-messages.js';
import type { CachedResolver } from './name-resolution.js';
import {
  blockersCheck,
  cacheModeCheck,
  clockCheck,
  hostDeviceCheck,
  jobsCheck,
  nameCheck,
  portReachable,
  tcgCheck,
  unmigratableDevicesCheck,
} from './source-checks.js';
import { type MigrationTlsConfig, tlsWanted } from '../migration/migration-tls.js';
import { sourceTlsCheck } from './tls-check.js';
import type { PreflightMetrics } from '../metrics/ferry-metrics.js';
import type { MigrationForecast } from '../shared/migration-forecast.js';

const NETWORK_PORTS: Record<string, number> = { nbd: 10809, iscsi: 3260, gluster: 24007, rbd: 6789, http: 80, https: 443, ftp: 21, ftps: 990 };
/** Checks that mean nothing for an offline migration (no QEMU moves). */
const LIVE_ONLY = new Set<CheckId>([
  'clock',
  'name-resolution',
  'cache-mode',
  'cpu',
  'migration-ports',
  'qemu-blockers',
  'tcg-dirty-tracking',
  'resources',
  'qemu-version',
  'tls',
]);

export interface PreflightDeps {
  host: HostService;
  /** Clients for the destination's peer API. */
  peers: PeerConnector;
  storage: StorageService;
  hostname: string;
  resolver: CachedResolver;
  maxClockOffsetMs: number;
  /** Is a migration or a block job running on the domain? */
  busy: (uuid: string) => { migrating: boolean; blockJob: boolean };
  /** tls_dir and migrate_tls_force: an encrypted migration checks the certificates. */
  tls: MigrationTlsConfig;
  /** Counts failed checks by name (ferry_preflight_failures_total). */
  metrics?: PreflightMetrics;
  /** What a live migration would do (MigrationForecaster); undefined when nothing runs to forecast. */
  forecast?: (uuid: string, destUri: string, o: MigrationOptions) => Promise<MigrationForecast> | undefined;
  log: Logger;
}

export interface PreflightReport {
  results: CheckResult[];
  failed: CheckResult[];
  warnings: CheckResult[];
  /** migrate-check's forecast of a live migration (docs/forecast.md), gathered while the checks ran. */
  forecast?: MigrationForecast;
  /** Why there is no forecast of a live migration, when gathering it failed. */
  forecastError?: string;
}

/**
 * Every requirement of a migration, checked before anything moves: the
 * source asks the destination for its half (storage, bridges, QEMU, CPU,
 * room, ports, leases), measures the clock offset on that round trip, and
 * adds its own (cache modes, host devices, names, reachability, jobs,
 * QEMU's blockers). Every failure is reported at once, with its fix.
 */
export class PreflightService {
  constructor(private readonly d: PreflightDeps) {}

  async run(ref: string, destUri: string, o: MigrationOptions, opts: { forecast?: boolean } = {}): Promise<PreflightReport> {
    const { host } = this.d;
    const rec = host.lookup(ref);
    const vm = host.runningDomain(rec.uuid);
    // The forecast measures the guest while the checks run.
    const forecasting = opts.forecast === false ? undefined : this.startForecast(rec.uuid, destUri, o);
    const def = vm?.def ?? parseDomainXml((rec.persistentXml ?? rec.liveXml) as string);
    for (const dev of o.migrateDisks ?? []) {
      if (!def.devices.disks.some((disk) => disk.target.dev === dev)) {
        throw new FerryError('DISK_NOT_FOUND', `invalid argument: disk '${dev}' given in --migrate-disks is not a disk of domain '${def.name}'`);
      }
    }
    const peer = this.d.peers.client(destUri, 15_000);
    const memoryMoves = !o.offline;
    const accel = vm?.accel ?? (await host.domainAccel(rec.uuid).catch(() => 'tcg' as const));
    const version = vm?.qemuVersion ?? (await host.qemuVersion(rec.uuid).catch(() => undefined));
    const request: PreflightRequest = {
      live: memoryMoves,
      domain: {
        name: def.name,
        uuid: def.uuid,
        memoryKiB: def.memoryKiB,
        vcpus: def.vcpus,
        machine: def.os.machine,
        cpu: await requestCpu(def.cpu, host),
        accel,
        ...(emulatedTpm(def) ? { tpm: emulatedTpm(def)?.version } : {}),
        ...(needsDbusDaemon(def) ? { dbusBus: true } : {}),
        ...(pinnedSets(def).length > 0 ? { pinning: pinnedSets(def) } : {}),
        ...(hugepageMemoryKiB(def).length > 0 ? { hugepages: hugepageMemoryKiB(def) } : {}),
        ...(def.devices.vsock
          ? { vsock: { auto: def.devices.vsock.cidAuto, ...(def.devices.vsock.cid === undefined ? {} : { cid: def.devices.vsock.cid }) } }
          : {}),
      },
      disks: [...this.disks(def, o), ...nvramOnNetwork(def)],
      interfaces: def.devices.interfaces.map((i) => ({
        mac: i.mac,
        type: i.type,
        ...(i.source.bridge ? { bridge: i.source.bridge } : {}),
        ...(i.source.network ? { network: i.source.network } : {}),
        ...(vhostNetDevice(i) ? { vhost: vhostNetDevice(i) } : {}),
      })),
      source: { hostname: this.d.hostname, qemuVersion: version ? formatVersion(version) : '0.0.0', cpuFlags: cpuFlags(), t0: Date.now() },
      ...(o.listenAddress ? { listenAddress: o.listenAddress } : {}),
      ...(migrateUriPort(o.migrateUri) !== undefined ? { listenPort: migrateUriPort(o.migrateUri) } : {}),
      leases: (await host.leasesOf(def).catch(() => [])).map((l) => l.resource),
      ...(tlsWanted(o, this.d.tls) ? { tls: true } : {}),
      ...(def.devices.filesystems?.length ? { filesystems: def.devices.filesystems.map((f) => ({ target: f.target, dir: f.source })) } : {}),
      ...firmwareFiles(def),
      ...secretsOf(def),
      ...(smartcardDatabases(def).length > 0 ? { smartcardDatabases: smartcardDatabases(def) } : {}),
    };
    // The source's own checks that need no answer from the destination run during the round trip.
    const busy = this.d.busy(rec.uuid);
    const local = Promise.all([jobsCheck(vm, busy.migrating, busy.blockJob), blockersCheck(vm)]);
    const t0 = Date.now();
    request.source.t0 = t0;
    const reply = await peer.call(PEER.preflight, { body: { request } });
    const t3 = Date.now();
    const [names, ports, [jobs, blockers]] = await Promise.all([
      nameCheck(reply, this.d.resolver),
      portReachable(reply, (advertised) => migrationDataHost(o, advertised, migrationHostOf(peer.address))),
      local,
    ]);
    const mine = [
      cacheModeCheck(def),
      hostDeviceCheck(def, memoryMoves),
      unmigratableDevicesCheck(def, memoryMoves, accel),
      clockCheck(reply, t0, t3, this.d.maxClockOffsetMs),
      names,
      ports,
      jobs,
      blockers,
      tcgCheck(o.live, accel, version),
      request.tls
        ? sourceTlsCheck({
            dir: this.d.tls.dir,
            host: this.d.hostname,
            serverCertPem: reply.tls?.serverCert,
            destination: reply.hostname,
            hostname: o.tlsDestination ?? migrationDataHost(o, reply.probe?.connectHost, migrationHostOf(peer.address)),
          })
        : undefined,
    ].filter((r): r is CheckResult => r !== undefined);
    let results = merge([...mine, ...reply.results]);
    if (!memoryMoves) results = results.filter((r) => !LIVE_ONLY.has(r.id));
    results = sortResults(applyUnsafe(results, o.unsafe));
    for (const r of results) if (r.outcome === 'fail') this.d.metrics?.preflightFailed(r.id);
    const report: PreflightReport = { results, failed: results.filter((r) => r.outcome === 'fail'), warnings: results.filter((r) => r.outcome === 'warn') };
    const forecast = forecasting ? await forecasting : undefined;
    if (forecast && 'error' in forecast) report.forecastError = forecast.error;
    else if (forecast) report.forecast = forecast;
    return report;
  }

  private startForecast(uuid: string, destUri: string, o: MigrationOptions): Promise<MigrationForecast | { error: string }> | undefined {
    const fail = (err: unknown): { error: string } => {
      this.d.log.warn({ err }, 'could not forecast the migration');
      return { error: err instanceof Error ? err.message : String(err) };
    };
    try {
      return this.d.forecast?.(uuid, destUri, o)?.catch(fail);
    } catch (err) {
      return Promise.resolve(fail(err));
    }
  }

  /** run() for a migration about to start: throws MIG_PREFLIGHT_FAILED unless every check passed (the migration code's MigrationPreflight port). */
  async check(ref: string, destUri: string, o: MigrationOptions): Promise<PreflightReport> {
    // The migration forecasts by itself, through Prepare (MigrationSource).
    const report = await this.run(ref, destUri, o, { forecast: false });
    PreflightService.assertPassed(report);
    return report;
  }

  static assertPassed(report: PreflightReport): void {
    if (report.failed.length === 0) return;
    throw new FerryError('MIG_PREFLIGHT_FAILED', `pre-flight checks failed: ${report.failed.map((r) => CHECKS[r.id]).join(', ')}`, {
      details: { results: report.results },
      hint: report.failed[0]?.hint ?? 'See the table above',
    });
  }

  private disks(def: DomainDefinition, o: MigrationOptions): PreflightDisk[] {
    const { host, storage } = this.d;
    return def.devices.disks.map((disk) => {
      const copied =
        o.copyStorage !== 'none' && (o.migrateDisks ? o.migrateDisks.includes(disk.target.dev) : !disk.readonly && disk.device !== 'cdrom' && !disk.shareable);
      const base: PreflightDisk = { dev: disk.target.dev, type: disk.type, readonly: disk.readonly, copied };
      if (disk.type === 'network') {
        const h = disk.source.hosts?.[0];
        if (h?.name)
          base.network = { protocol: disk.source.protocol as string, host: h.name, port: h.port ?? NETWORK_PORTS[disk.source.protocol as string] ?? 0 };
        return base;
      }
      let path: string | undefined;
      try {
        path = host.diskPath(disk);
      } catch {
        path = undefined;
      }
      if (path) base.path = path;
      if (disk.type === 'volume') {
        base.pool = disk.source.pool as string;
        base.volume = disk.source.volume as string;
      } else if (path) {
        const p = storage.poolOfPath(path);
        if (p) base.pool = p.name;
      }
      if (base.pool) {
        try {
          base.poolTarget = storage.lookup(base.pool).def.target.path;
        } catch {
          // the pool is missing here too
        }
      }
      if (path) {
        try {
          const st = statSync(path);
          base.size = diskSize(path);
          base.allocation = st.isBlockDevice() ? base.size : st.blocks * 512;
        } catch {
          // missing on the source: QEMU would not run it either
        }
      }
      return base;
    });
  }
}

/** One result per check: the worst of what the two sides found. */
function merge(results: CheckResult[]): CheckResult[] {
  const rank = { pass: 0, warn: 1, fail: 2 } as const;
  const by = new Map<CheckId, CheckResult>();
  for (const r of results) {
    const cur = by.get(r.id);
    if (!cur || rank[r.outcome] > rank[cur.outcome]) by.set(r.id, r);
  }
  return [...by.values()];
}

/**
 * A network NVRAM (<nvram type='network'>) is not copied: the destination's QEMU opens the same
 * nbd/iscsi export, so it must reach its server (checked with the network disks: unmanaged-storage).
 */
function nvramOnNetwork(def: DomainDefinition): PreflightDisk[] {
  const s = def.os.firmware?.nvram?.network?.source;
  const h = s?.hosts?.[0];
  if (!s || !h?.name) return [];
  return [
    {
      dev: 'nvram',
      type: 'network',
      readonly: false,
      copied: false,
      network: { protocol: s.protocol as string, host: h.name, port: h.port ?? NETWORK_PORTS[s.protocol as string] ?? 0 },
    },
  ];
}

/** The firmware files a domain needs on the destination: its UEFI code and its NVRAM template. */
function firmwareFiles(def: DomainDefinition): { firmware?: { loader?: string; nvramTemplate?: string } } {
  const fw = def.os.firmware;
  if (!fw?.loader?.path) return {};
  return { firmware: { loader: fw.loader.path, ...(fw.nvram?.template ? { nvramTemplate: fw.nvram.template } : {}) } };
}

/** The secrets the domain's disks name, for the destination to look up in its own store. */
function secretsOf(def: DomainDefinition): Pick<PreflightRequest, 'secrets'> {
  const secrets: NonNullable<PreflightRequest['secrets']> = domainSecretNeeds(def).flatMap((n) =>
    n.use
      ? [{ disk: n.disk, type: n.use.type, ...(n.use.uuid ? { uuid: n.use.uuid } : {}), ...(n.use.usage !== undefined ? { usage: n.use.usage } : {}) }]
      : [],
  );
  const tpmSecret = emulatedTpm(def)?.encryptionSecret;
  if (tpmSecret) secrets.push({ disk: 'tpm', type: 'vtpm', uuid: tpmSecret });
  return secrets.length > 0 ? { secrets } : {};
}

/** The domain's <cpu> for the destination: a named model comes with its features, check= and what the source's QEMU could not give it. */
async function requestCpu(cpu: DomainDefinition['cpu'], host: HostService): Promise<PreflightRequest['domain']['cpu']> {
  if (!cpu || cpu.mode !== 'custom' || !cpu.model) return { mode: cpu?.mode ?? 'maximum' };
  const out: PreflightRequest['domain']['cpu'] = { mode: cpu.mode, model: cpu.model, features: cpu.features.map((f) => ({ policy: f.policy, name: f.name })) };
  if (cpu.check) out.check = cpu.check;
  const catalog = await host.cpuCatalog().catch(() => undefined);
  if (catalog && catalog.models.some((m) => m.name === cpu.model)) out.sourceMissing = missingCpuFeatures(catalog, out);
  return out;
}
