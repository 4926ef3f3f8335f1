import type { Logger } from 'pino';
import type { RunningDomain } from '../host/running-domain.js';
import { BlockMonitor } from '../qemu/block-monitor.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { CommandRunner } from '../storage/command-runner.js';
import { startNbdServer } from '../storage/nbd-copy.js';
import type { QemuImg } from '../storage/qemu-img.js';
import type { StorageService } from '../storage/storage-service.js';
import type { PortAllocator } from '../system/port-allocator.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { MigrationCookie } from './cookie.js';
import { createDiskTargets, removeFiles } from './disk-plan.js';
import type { DestinationDisplay } from './graphics-uri.js';
import type { MigrationHost } from './migration-host.js';
import type { MigrationLedger } from './migration-ledger.js';
import { addMigrationTlsCreds, type MigrationTlsConfig, tlsParameters } from './migration-tls.js';
import { formatTcpUri } from './migration-uri.js';
import { receiveNvram, withNvramPath } from './nvram-transfer.js';
import { agreePreempt, withPostcopyCapabilities } from './postcopy/preempt.js';

/** What Prepare's steps need from the destination's host. */
export interface IncomingDeps {
  host: MigrationHost;
  storage: StorageService;
  qemuImg: QemuImg;
  run: CommandRunner;
  /** Where qemu-nbd pid files go (offline storage copies). */
  runDir: string;
  ports: PortAllocator;
  hostname: string;
  /** tls_dir (the incoming QEMU's server credentials) and migrate_tls_force (plain migrations refused). */
  tls: MigrationTlsConfig;
}

/** Where the incoming QEMU listens once prepared. */
export interface IncomingListener {
  port: number;
  nbdPort?: number;
  tls: boolean;
  preemptAgreed: boolean;
}

/** An offline copy's target: one qemu-nbd per disk. */
export interface OfflineExport {
  dev: string;
  port: number;
  export: string;
}

/**
 * One Prepare on the destination, step by step: the files that arrive before QEMU starts, the incoming
 * QEMU's listener (or, offline, the qemu-nbd servers), each resource recorded the moment it is acquired
 * (here, and in the ledger for recovery), so that undo() after a failure at any step releases exactly what
 * this Prepare took: its ports, its NBD servers and the files it created.
 */
export class IncomingPreparation {
  /** Ports acquired, for undo() (or, once prepared, for the destination to release when the migration ends). */
  readonly ports: number[] = [];
  /** qemu-nbd servers started (offline copies). */
  readonly nbdPids: number[] = [];
  /** Files created here: copied disks and the NVRAM. */
  private created: string[] = [];

  constructor(
    private readonly deps: IncomingDeps,
    private readonly ledger: MigrationLedger,
    private readonly cookie: MigrationCookie,
    private readonly log: Logger,
  ) {}

  private get id(): string {
    return this.cookie.migrationId;
  }

  /**
   * What QEMU opens, before it starts: the disks copied with the migration (first, so a missing pool fails
   * first) and the UEFI variable store at this host's path (its default when the source used its own
   * default). Returns the definition to launch, with the NVRAM's path here.
   */
  async receiveFiles(def: DomainDefinition): Promise<{ launchDef: DomainDefinition; nvramShared: { nvramShared: boolean } | Record<string, never> }> {
    const { cookie } = this;
    if (cookie.storage) {
      this.created = await createDiskTargets(cookie.storage.disks, { storage: this.deps.storage, qemuImg: this.deps.qemuImg });
      this.ledger.note(this.id, 'destination', { created: this.created });
    }
    if (!cookie.nvram) return { launchDef: def, nvramShared: {} };
    const arrived = receiveNvram(cookie.nvram, (format) => this.deps.host.defaultNvramPath(def.name, format), this.id);
    if (arrived.created) this.created = [...this.created, arrived.path];
    this.ledger.note(this.id, 'destination', { created: this.created, nvramPath: arrived.path });
    this.log.info(
      { nvram: arrived.path, shared: arrived.shared },
      arrived.shared ? 'NVRAM on shared storage: nothing to copy' : 'NVRAM copied from the source',
    );
    return { launchDef: withNvramPath(def, arrived.path), nvramShared: { nvramShared: arrived.shared } };
  }

  /**
   * The incoming QEMU ready to receive: the capabilities and parameters the source sent (post-copy's return
   * path, and preempt when the source offered it and this QEMU has it too), TLS server credentials (the
   * source's certificate is verified), the data port, the NBD exports of copied disks, then migrate-incoming.
   */
  async listen(vm: RunningDomain, address: string): Promise<IncomingListener> {
    const { cookie } = this;
    const mm = new MigrationMonitor(vm.monitor);
    const preempt = await agreePreempt(mm, cookie.postcopy?.preempt === true, cookie.tuning.capabilities['postcopy-ram'] === true);
    // late-block-activate, as libvirt sets it on every destination: the incoming QEMU opens the disk images for
    // writing at `cont` (Finish), not as soon as the stream completes; until then the source may still take the VM
    // back (a Finish lost or refused), and only one QEMU ever has the images active.
    await mm.setCapabilities({ ...withPostcopyCapabilities(cookie.tuning.capabilities, preempt), 'late-block-activate': true });
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
    const port = await this.acquirePort(address, cookie.listen?.port);
    let nbdPort: number | undefined;
    if (cookie.storage) {
      nbdPort = await this.acquirePort(address);
      const blk = new BlockMonitor(vm.monitor);
      await blk.nbdServerStart(address, nbdPort, tlsCreds);
      for (const d of cookie.storage.disks) await blk.exportAdd({ id: `mig-${d.dev}`, nodeName: `fmt-${d.dev}`, name: d.dev, writable: true });
    }
    await mm.incoming(formatTcpUri(address, port));
    const listener = { port, ...(nbdPort ? { nbdPort } : {}), tls: tlsCreds !== undefined, preemptAgreed: preempt.agreed };
    this.ledger.note(this.id, 'destination', {
      port,
      address,
      ports: this.ports,
      ...(nbdPort ? { nbdPort } : {}),
      ...(listener.tls ? { tls: true } : {}),
    });
    return listener;
  }

  /** Offline storage copy: one qemu-nbd per created disk, for the source's qemu-img to write into. */
  async serveOffline(address: string): Promise<OfflineExport[]> {
    const out: OfflineExport[] = [];
    for (const [i, d] of (this.cookie.storage?.disks ?? []).entries()) {
      const port = await this.acquirePort(address);
      const server = await startNbdServer({
        run: this.deps.run,
        path: this.created[i] as string,
        format: d.format,
        address,
        port,
        exportName: d.dev,
        pidFile: `${this.deps.runDir}/nbd-${this.id}-${d.dev}.pid`,
      });
      this.nbdPids.push(server.pid);
      out.push({ dev: d.dev, port, export: d.dev });
    }
    this.ledger.note(this.id, 'destination', { nbdPids: this.nbdPids, ports: this.ports });
    return out;
  }

  /** After a failed step: the ports, the NBD servers and the files this Prepare took (its QEMU is the caller's). */
  undo(): void {
    for (const p of this.ports) this.deps.ports.release(p);
    stopPids(this.nbdPids);
    removeFiles(this.created);
  }

  private async acquirePort(address: string, wanted?: number): Promise<number> {
    const port = await this.deps.ports.acquire(address, wanted);
    this.ports.push(port);
    return port;
  }
}

/** SIGTERM to each process still there (qemu-nbd servers of an offline copy). */
export function stopPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
}

/** Where the destination's displays listen, for the source to tell clients (graphics-uri). */
export function displaysOf(vm: RunningDomain): DestinationDisplay[] {
  return vm.def.devices.graphics.map((g) => ({
    type: g.type,
    ...(g.listens[0]?.address === undefined ? {} : { address: g.listens[0].address }),
    ...(g.port === undefined ? {} : { port: g.port }),
    ...(g.tlsPort !== undefined && g.tlsPort > 0 ? { tlsPort: g.tlsPort } : {}),
  }));
}
