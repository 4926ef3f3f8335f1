import { closeSync, existsSync, openSync, statfsSync, statSync } from 'node:fs';
import { advertisedDataHost } from '../migration/data-host.js';
import { canConnect } from './can-connect.js';
import os from 'node:os';
import type { HostService } from '../host/host-service.js';
import type { QemuCapabilities } from '../host/qemu-capabilities.js';
import type { PortAllocator } from '../system/port-allocator.js';
import { compareVersions, formatVersion, parseVersionOutput, resolveMachineType } from '../qemu/binary.js';
import type { NetworkService } from '../network/network-service.js';
import type { StorageService } from '../storage/storage-service.js';
import { prettyCapacity } from '../shared/volume.js';
import { type CheckResult, fail, pass, warn } from '../shared/check-result.js';
import { cpuModelCheck } from './cpu-model-check.js';
import { blockDeviceSize, cpuFlags, diskSize, hostAddresses } from './host-facts.js';
import type { CachedResolver } from './name-resolution.js';
import type { PreflightReply, PreflightRequest } from '../shared/peer-protocol/preflight-messages.js';
import { destinationTlsCheck } from './tls-check.js';
import { tpmCheck } from './tpm-check.js';
import { dbusDaemonCheck } from './dbus-daemon-check.js';
import { vsockCheck } from './vsock-check.js';
import { hugepagesCheck } from './hugepages-check.js';
import { pinningCheck } from './pinning-check.js';
import { nssDatabaseProblem } from '../host/smartcard-databases.js';
import type { SecretRef } from '../secrets/secret-service.js';

export interface DestinationCheckDeps {
  host: HostService;
  storage: StorageService;
  networks: NetworkService;
  caps: QemuCapabilities;
  ports: PortAllocator;
  qemuBinary: string;
  hostname: string;
  migrationAddress: string;
  /** libvirt's migration_host: where sources send migration data. */
  migrationHost?: string;
  memoryOvercommit: number;
  cpuOvercommit: number;
  /** Test-only: this host's clock reads this much ahead. */
  clockOffsetMs: number;
  /** Name lookups for the checks (dns_servers, cached for a minute). */
  resolver: CachedResolver;
  /** This host's certificates (tls_dir) and whether it accepts only encrypted migrations (migrate_tls_force). */
  tlsDir: string;
  migrateTlsForce: boolean;
  /** This host's secret store (secret-define). */
  secrets?: { has(ref: SecretRef): boolean };
}

/** The destination's half of the pre-flight checks, run on the destination. */
export async function runDestinationChecks(req: PreflightRequest, d: DestinationCheckDeps): Promise<PreflightReply> {
  const t1 = Date.now() + d.clockOffsetMs;
  // The checks that wait on something (QEMU, DNS, sockets, lockd) run side by side.
  const [unmanagedR, qemuR, cpuR, leasesR, namesR, ports] = await Promise.all([
    unmanaged(req, d),
    qemu(req, d),
    cpu(req, d),
    leases(req, d),
    reverseResolution(req, d),
    migrationPorts(req, d),
  ]);
  const results: CheckResult[] = [
    ...storage(req, d),
    ...filesystemDirs(req, d.hostname),
    unmanagedR,
    networksCheck(req, d),
    ...qemuR,
    cpuR,
    resources(req, d),
    leasesR,
    namesR,
    ports.result,
  ];
  if (req.firmware) results.push(firmware(req.firmware, d.hostname));
  const tls = destinationTlsCheck(req, d);
  if (tls) results.push(tls.result);
  if (req.domain.tpm) results.push(await tpmCheck(req.domain.tpm, d.hostname));
  if (req.domain.dbusBus) results.push(await dbusDaemonCheck(d.hostname));
  if (req.domain.vsock) results.push(vsockCheck(req.domain.vsock, d.hostname));
  if (req.domain.pinning) results.push(pinningCheck(req.domain.pinning, d.hostname));
  // Only a live migration's destination QEMU takes the pages now; an offline one needs them at its next start.
  if (req.domain.hugepages && req.live) results.push(hugepagesCheck(req.domain.hugepages, d.hostname));
  if (req.secrets?.length) results.push(secretsCheck(req.secrets, d));
  if (req.smartcardDatabases?.length) results.push(smartcardDatabaseCheck(req, d.hostname));
  return {
    results,
    hostname: d.hostname,
    addresses: hostAddresses(),
    t1,
    t2: Date.now() + d.clockOffsetMs,
    ...(ports.probe ? { probe: ports.probe } : {}),
    ...(tls?.certPem ? { tls: { serverCert: tls.certPem } } : {}),
  };
}

/**
 * The NSS databases of the domain's host-certificates smartcards must be on the destination: its QEMU
 * emulates the cards from its own copy (the database does not travel). Offline the definition may move
 * without them (a warning): a start there is refused (SMARTCARD_DATABASE_MISSING) until they exist.
 */
export function smartcardDatabaseCheck(
  req: Pick<PreflightRequest, 'smartcardDatabases' | 'live'>,
  hostname: string,
  problem: (dir: string) => string | undefined = nssDatabaseProblem,
): CheckResult {
  const dirs = req.smartcardDatabases ?? [];
  const problems = dirs.flatMap((dir) => {
    const why = problem(dir);
    return why === undefined ? [] : [why];
  });
  if (problems.length === 0)
    return pass(
      'smartcard-database',
      `the smartcard NSS database${dirs.length > 1 ? 's' : ''} ${dirs.join(', ')} ${dirs.length > 1 ? 'are' : 'is'} on ${hostname}`,
    );
  const hint = `Copy the NSS database (the directory with cert9.db, key4.db, pkcs11.txt) to ${hostname} at the same path: its QEMU emulates the card from the same three certificates`;
  const reason = `${problems.join('; ')} on ${hostname} (<smartcard mode='host-certificates'>)`;
  return req.live ? fail('smartcard-database', reason, hint) : warn('smartcard-database', `${reason}: the domain will not start there until it exists`, hint);
}

/** Each secret the domain's disks name must be defined here, with a value: the destination's QEMU gets it from this host's store. */
export function secretsCheck(secrets: NonNullable<PreflightRequest['secrets']>, d: Pick<DestinationCheckDeps, 'secrets' | 'hostname'>): CheckResult {
  const missing = secrets.filter((s) => !d.secrets?.has(s));
  if (missing.length === 0) return pass('secrets', `the ${secrets.length} secret(s) the disks name are defined on ${d.hostname}`);
  const names = missing.map(
    (s) => `${s.disk === 'tpm' ? '<tpm>' : `disk '${s.disk}'`}: secret ${s.uuid !== undefined ? `uuid '${s.uuid}'` : `usage '${s.usage ?? ''}'`}`,
  );
  return fail(
    'secrets',
    `${names.join(', ')} not defined (or without a value) on ${d.hostname}`,
    `Define the same secret on ${d.hostname} ("ferry secret-define FILE" with the same <uuid>/<usage>) and give it its value ("ferry secret-set-value UUID --file F") (docs/secrets.md)`,
  );
}

/** Each <filesystem>'s host directory: the destination's QEMU exports its own copy at that path (9p reads the host it runs on). */
export function filesystemDirs(req: Pick<PreflightRequest, 'filesystems'>, hostname: string): CheckResult[] {
  return (req.filesystems ?? []).flatMap((f) => {
    let dir = false;
    try {
      dir = statSync(f.dir).isDirectory();
    } catch {
      dir = false;
    }
    if (dir) return [];
    return [
      fail(
        'storage',
        `filesystem '${f.target}': source directory ${f.dir} does not exist on ${hostname}`,
        `Create ${f.dir} on ${hostname} with the data the guest expects (or mount the same share there): after the move the guest's 9p export '${f.target}' reads that host's directory`,
      ),
    ];
  });
}

function storage(req: PreflightRequest, d: DestinationCheckDeps): CheckResult[] {
  const out: string[] = [];
  const problems: CheckResult[] = [];
  const room = new Map<string, number>();
  for (const disk of req.disks.filter((x) => x.type === 'file' || x.type === 'volume')) {
    const where = disk.pool ? `pool '${disk.pool}'` : (disk.path ?? '');
    if (disk.pool) {
      let pool;
      try {
        pool = d.storage.lookup(disk.pool);
      } catch {
        problems.push(
          fail(
            'storage',
            `${disk.dev}: storage pool '${disk.pool}' does not exist on ${d.hostname}`,
            `Define and start pool '${disk.pool}' on ${d.hostname} with the same target as on the source (${disk.poolTarget ?? 'see pool-dumpxml'})`,
          ),
        );
        continue;
      }
      if (!pool.rec.active) {
        problems.push(
          fail(
            'storage',
            `${disk.dev}: storage pool '${disk.pool}' is not active on ${d.hostname}`,
            `Start it: ferry pool-start ${disk.pool} (on ${d.hostname})`,
          ),
        );
        continue;
      }
      if (!disk.copied && disk.poolTarget && pool.def.target.path !== disk.poolTarget) {
        problems.push(
          fail(
            'storage',
            `${disk.dev}: pool '${disk.pool}' has target ${pool.def.target.path} on ${d.hostname}, ${disk.poolTarget} on the source`,
            "Give the pool the same target path on both hosts (the seed's requirement)",
          ),
        );
        continue;
      }
    }
    if (disk.copied) {
      if (disk.pool) room.set(disk.pool, (room.get(disk.pool) ?? 0) + (disk.allocation ?? 0));
      out.push(`${disk.dev} will be copied to ${where}`);
      continue;
    }
    const path = disk.path as string;
    if (!existsSync(path)) {
      problems.push(
        fail(
          'storage',
          `${disk.dev}: ${path} is not visible on ${d.hostname}`,
          'Put the disk on storage both hosts share (same path), or migrate with --copy-storage-all',
        ),
      );
      continue;
    }
    const size = diskSize(path);
    if (!disk.readonly && disk.size !== undefined && size !== disk.size) {
      problems.push(
        fail(
          'storage',
          `${disk.dev}: ${path} is ${size} bytes on ${d.hostname}, ${disk.size} on the source: not the same disk`,
          'The path must name the same shared image on both hosts; check the mount',
        ),
      );
      continue;
    }
    out.push(`${disk.dev}: ${path} (${prettyCapacity(size)})`);
  }
  for (const [pool, needed] of room) {
    const stats = (() => {
      try {
        const { def } = d.storage.active(pool);
        return statfsAvailable(def.target.path);
      } catch {
        return undefined;
      }
    })();
    if (stats !== undefined && needed > stats) {
      problems.push(
        fail(
          'storage',
          `pool '${pool}' on ${d.hostname} has ${prettyCapacity(stats)} free, the copied disks need ${prettyCapacity(needed)}`,
          'Free space in the pool on the destination, or copy to another pool',
        ),
      );
    }
  }
  if (problems.length > 0) return problems;
  return [pass('storage', out.length > 0 ? out.join('; ') : 'no file disks')];
}

/** The UEFI code (and the NVRAM template) must be here at the same paths: the definition names them. */
function firmware(f: NonNullable<PreflightRequest['firmware']>, hostname: string): CheckResult {
  const missing = [f.loader, f.nvramTemplate].filter((p): p is string => p !== undefined && !existsSync(p));
  if (missing.length > 0) {
    return fail(
      'firmware',
      `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not on ${hostname}`,
      `Install the same firmware on ${hostname} as on the source (Debian: apt install ovmf), so the paths the definition names exist there`,
    );
  }
  return pass('firmware', [f.loader, f.nvramTemplate].filter(Boolean).join(', '));
}

function statfsAvailable(path: string): number | undefined {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

async function unmanaged(req: PreflightRequest, d: DestinationCheckDeps): Promise<CheckResult> {
  const seen: string[] = [];
  for (const disk of req.disks) {
    if (disk.type === 'block' && !disk.copied) {
      const size = blockDeviceSize(disk.path as string);
      if (size === undefined) {
        return fail(
          'unmanaged-storage',
          `${disk.dev}: block device ${disk.path} does not exist on ${d.hostname}`,
          'Make the same LUN or volume visible on the destination (iSCSI login, FC zoning, LVM activation) under the same path',
        );
      }
      if (disk.size !== undefined && size !== disk.size) {
        return fail(
          'unmanaged-storage',
          `${disk.dev}: ${disk.path} is ${size} bytes on ${d.hostname}, ${disk.size} on the source`,
          'The path names a different device on the destination',
        );
      }
      seen.push(`${disk.dev}: ${disk.path}`);
    }
    if (disk.type === 'network' && disk.network) {
      const ok = await canConnect(disk.network.host, disk.network.port, 2000);
      if (!ok) {
        return fail(
          'unmanaged-storage',
          `${disk.dev}: ${disk.network.protocol} server ${disk.network.host}:${disk.network.port} is not reachable from ${d.hostname}`,
          'Open the storage network to the destination',
        );
      }
      seen.push(`${disk.dev}: ${disk.network.protocol}://${disk.network.host}:${disk.network.port}`);
    }
  }
  return pass('unmanaged-storage', seen.length > 0 ? `reachable: ${seen.join('; ')}` : 'none');
}

export function networksCheck(req: Pick<PreflightRequest, 'interfaces'>, d: Pick<DestinationCheckDeps, 'hostname' | 'networks'>): CheckResult {
  const ok: string[] = [];
  const nets: string[] = [];
  for (const i of req.interfaces) {
    const vhost = i.vhost === undefined ? undefined : vhostProblem(i.vhost);
    if (vhost !== undefined) {
      return fail(
        'networks',
        `interface ${i.mac}: <driver name='vhost'> needs ${i.vhost}, which cannot be opened on ${d.hostname}: ${vhost}`,
        `Load vhost-net on ${d.hostname} (modprobe vhost_net), or give the interface <driver name='qemu'> before migrating`,
      );
    }
    if (i.type === 'bridge') {
      if (!existsSync(`/sys/class/net/${i.bridge}/bridge`)) {
        return fail(
          'networks',
          `interface ${i.mac}: bridge '${i.bridge}' does not exist on ${d.hostname}`,
          `Create it on ${d.hostname} (ip link add ${i.bridge} type bridge && ip link set ${i.bridge} up) and attach its uplink, as on the source`,
        );
      }
      ok.push(i.bridge as string);
    } else if (i.type === 'network') {
      const problem = virtualNetwork(i.mac, i.network as string, d);
      if (typeof problem !== 'string') return problem;
      nets.push(problem);
    }
  }
  const parts = [
    ...(ok.length > 0 ? [`bridges present: ${[...new Set(ok)].join(', ')}`] : []),
    ...(nets.length > 0 ? [`networks active: ${[...new Set(nets)].join(', ')}`] : []),
  ];
  return pass('networks', parts.length > 0 ? parts.join('; ') : 'no bridged interfaces');
}

/** Why the vhost-net device at `path` cannot be opened here (undefined: it can), as the launcher will open it. */
function vhostProblem(path: string): string | undefined {
  try {
    closeSync(openSync(path, 'r+'));
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/** A type='network' interface: the network is defined and active on this host and its bridge exists. */
function virtualNetwork(mac: string, network: string, d: Pick<DestinationCheckDeps, 'hostname' | 'networks'>): CheckResult | string {
  const on = `on ${d.hostname}`;
  let found;
  try {
    found = d.networks.lookup(network);
  } catch {
    return fail(
      'networks',
      `interface ${mac}: network '${network}' does not exist ${on}`,
      `Define it ${on}, naming that host's bridge (<forward mode='bridge'/><bridge name=...>): ferry net-define FILE && ferry net-start ${network} && ferry net-autostart ${network}`,
    );
  }
  const { rec, def } = found;
  if (!rec.active || !rec.bridge) {
    const why = rec.autostart ? ' (it is marked autostart but is not running)' : '';
    return fail(
      'networks',
      `interface ${mac}: network '${network}' is not active ${on}${why}`,
      `Start it ${on}: ferry net-start ${network}${rec.autostart ? '' : ` (and ferry net-autostart ${network} so it starts with ferryd)`}`,
    );
  }
  if (!existsSync(`/sys/class/net/${rec.bridge}/bridge`)) {
    const fix =
      def.forward === 'bridge'
        ? `Create it ${on} (ip link add ${rec.bridge} type bridge && ip link set ${rec.bridge} up) and attach its uplink`
        : `Restart the network ${on}: ferry net-destroy ${network} && ferry net-start ${network}`;
    return fail('networks', `interface ${mac}: bridge '${rec.bridge}' of network '${network}' does not exist ${on}`, fix);
  }
  return `${network} (bridge ${rec.bridge})`;
}

async function qemu(req: PreflightRequest, d: DestinationCheckDeps): Promise<CheckResult[]> {
  let info;
  try {
    info = await d.caps.binary(d.qemuBinary);
  } catch (err) {
    return [fail('qemu-version', `QEMU on ${d.hostname}: ${(err as Error).message}`, 'Install QEMU 10.0 from bookworm-backports on the destination')];
  }
  const out: CheckResult[] = [];
  const src = parseVersionOutput(`QEMU emulator version ${req.source.qemuVersion}`)?.version;
  const dst = formatVersion(info.version);
  if (src && compareVersions(info.version, src) < 0) {
    out.push(
      fail(
        'qemu-version',
        `the destination runs QEMU ${dst}, older than the source's ${req.source.qemuVersion}: migrating to an older QEMU is refused`,
        `Upgrade QEMU on ${d.hostname} to ${req.source.qemuVersion} or later`,
      ),
    );
  } else {
    out.push(pass('qemu-version', `source ${req.source.qemuVersion}, destination ${dst}`));
  }
  const machine = req.domain.machine;
  if (machine && !resolveMachineType(info, machine)) {
    out.push(
      fail(
        'machine-type',
        `machine type '${machine}' is not supported by QEMU ${dst} on ${d.hostname}`,
        'Use a machine type both QEMUs know (a versioned one the older QEMU has)',
      ),
    );
  } else {
    out.push(pass('machine-type', `${machine ?? 'default'} is supported`));
  }
  return out;
}

async function cpu(req: PreflightRequest, d: DestinationCheckDeps): Promise<CheckResult> {
  const { mode, model } = req.domain.cpu;
  if (mode === 'custom' && model) {
    const [models, catalog] = await Promise.all([
      d.caps.cpuModels(d.qemuBinary).catch(() => [] as string[]),
      d.caps.cpuCatalog(d.qemuBinary).catch(() => undefined),
    ]);
    if (models.length > 0 && !models.includes(model)) {
      return fail(
        'cpu',
        `CPU model '${model}' is not supported by QEMU on ${d.hostname}`,
        'Choose a CPU model both hosts support ("qemu-system-x86_64 -cpu help")',
      );
    }
    // Its features: what the destination's QEMU gives under its accelerator (query-cpu-definitions, query-cpu-model-expansion).
    if (catalog) return cpuModelCheck(req.domain.cpu, catalog, d.hostname);
    return pass('cpu', `model ${model} is supported`);
  }
  if ((mode === 'host-passthrough' || mode === 'host-model') && req.domain.accel === 'kvm') {
    const here = new Set(cpuFlags());
    const missing = req.source.cpuFlags.filter((f) => !here.has(f));
    if (missing.length > 0) {
      const text = `${mode}: the destination CPU lacks ${missing.slice(0, 8).join(' ')}${missing.length > 8 ? ` (+${missing.length - 8} more)` : ''}`;
      return mode === 'host-passthrough'
        ? fail('cpu', text, "Use a named CPU model both hosts support (cpu mode='custom'), or migrate between identical CPUs", true)
        : warn('cpu', text, 'host-model expands to what the destination offers; the guest may lose features', true);
    }
    return pass('cpu', `${mode}: same CPU flags on both hosts`);
  }
  return pass('cpu', req.domain.accel === 'tcg' ? `TCG emulates the CPU (${mode})` : `${mode}`);
}

function resources(req: PreflightRequest, d: DestinationCheckDeps): CheckResult {
  let usedKiB = 0;
  let usedCpus = 0;
  for (const s of d.host.list()) {
    if (s.uuid === req.domain.uuid) continue;
    const vm = d.host.runningDomain(s.uuid);
    if (!vm) continue;
    usedKiB += vm.def.memoryKiB;
    usedCpus += vm.def.vcpus;
  }
  const capKiB = (os.totalmem() / 1024) * d.memoryOvercommit;
  const capCpus = os.cpus().length * d.cpuOvercommit;
  const needKiB = req.domain.memoryKiB;
  if (usedKiB + needKiB > capKiB) {
    return fail(
      'resources',
      `${d.hostname} has room for ${prettyCapacity(Math.max(0, capKiB - usedKiB) * 1024)} of guest memory (overcommit ${d.memoryOvercommit}), the domain needs ${prettyCapacity(needKiB * 1024)}`,
      'Migrate to a host with more free memory, free some there, or raise memory_overcommit',
      true,
    );
  }
  if (usedCpus + req.domain.vcpus > capCpus) {
    return fail(
      'resources',
      `${d.hostname} has ${Math.max(0, capCpus - usedCpus)} vCPUs left (cpu_overcommit ${d.cpuOvercommit}), the domain needs ${req.domain.vcpus}`,
      'Migrate to a host with more CPUs, or raise cpu_overcommit',
      true,
    );
  }
  return pass('resources', `${prettyCapacity(needKiB * 1024)} and ${req.domain.vcpus} vCPU fit (${prettyCapacity((capKiB - usedKiB) * 1024)} free)`);
}

async function leases(req: PreflightRequest, d: DestinationCheckDeps): Promise<CheckResult> {
  const here = d.host.domainRecord(req.domain.uuid);
  if (here?.liveXml)
    return fail('leases', `domain '${req.domain.name}' is already running on ${d.hostname}`, 'It runs on both hosts? Stop one copy; never resume both');
  for (const r of req.leases) {
    const h = await d.host.leaseHolder(r).catch(() => ({ anywhere: false }) as { here?: { name: string }; anywhere: boolean });
    if ('here' in h && h.here) {
      return fail(
        'leases',
        `${d.hostname} holds the lease on '${r}' for domain '${h.here.name}'`,
        'Another domain on the destination uses this disk; stop it first',
      );
    }
  }
  return pass('leases', `no lease of the domain is held on ${d.hostname}`);
}

async function reverseResolution(req: PreflightRequest, d: DestinationCheckDeps): Promise<CheckResult> {
  const r = await d.resolver.resolve(req.source.hostname);
  if (r.addresses.length === 0) {
    return fail(
      'name-resolution',
      `${d.hostname} cannot resolve the source's name '${req.source.hostname}'`,
      `Add ${req.source.hostname} to DNS (the seed: "/etc/hosts will not work")`,
      true,
    );
  }
  if (!r.dns) {
    return warn(
      'name-resolution',
      `${d.hostname} resolves '${req.source.hostname}' only through /etc/hosts`,
      'Use DNS for host names, as the seed advises; /etc/hosts drifts between hosts',
      true,
    );
  }
  return pass('name-resolution', `${d.hostname} resolves '${req.source.hostname}'`, true);
}

async function migrationPorts(
  req: PreflightRequest,
  d: DestinationCheckDeps,
): Promise<{ result: CheckResult; probe?: { address: string; port: number; connectHost?: string } }> {
  const address = req.listenAddress ?? d.migrationAddress;
  let port: number;
  try {
    port = await d.ports.acquire(address, req.listenPort);
    // Listen until the source has checked it reaches the port.
    await d.ports.probe(address, port);
  } catch (err) {
    const hint =
      req.listenPort !== undefined
        ? `Free port ${req.listenPort} on ${address}, or name another port in --migrateuri`
        : 'Free a port of the range, or widen migration_port_min / migration_port_max in ferryd.conf';
    return { result: fail('migration-ports', `${d.hostname}: ${(err as Error).message.replace(/^operation failed: /, '')}`, hint) };
  }
  const connectHost = advertisedDataHost(d.migrationHost ?? '', address);
  return { result: pass('migration-ports', `${address}:${port} is free on ${d.hostname}`), probe: { address, port, ...(connectHost ? { connectHost } : {}) } };
}
