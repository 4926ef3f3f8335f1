import { mkdirSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { buildQemuArgv, type ResolvedDiskSource } from '../qemu/argv.js';
import { type QemuBinaryInfo, resolveMachineType } from '../qemu/binary.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import { QemuProcess } from '../qemu/process.js';
import { createTap, deleteTap, tapName } from '../network/tap.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import type { HostPaths } from './host-paths.js';
import { liveDefinition, portableDefinition } from './live-definition.js';
import type { QemuCapabilities } from './qemu-capabilities.js';

export interface LaunchedDomain {
  live: DomainDefinition;
  process: QemuProcess;
  monitor: QemuMonitor;
  accel: 'kvm' | 'tcg';
  binary: QemuBinaryInfo;
}

export interface DomainLauncherDeps {
  paths: HostPaths;
  /** Finds the file or device behind a pool volume (disks of type='volume'). */
  resolveVolume?: (pool: string, volume: string) => { kind: 'file' | 'block'; path: string };
  /** Finds the bridge of an active virtual network (interfaces of type='network'). */
  resolveNetwork?: (network: string) => string;
  caps: QemuCapabilities;
  qemuBinary: string;
  hostId: string;
  log: Logger;
}

/**
 * Turns a definition into a running (paused, -S) QEMU: resolves the machine
 * type and accelerator, creates tap devices, builds the argv and launches.
 * On any failure everything it created is removed again.
 */
export class DomainLauncher {
  constructor(private readonly deps: DomainLauncherDeps) {}

  binaryFor(def: DomainDefinition): string {
    return def.devices.emulator ?? this.deps.qemuBinary;
  }

  async launch(def: DomainDefinition, options: { incoming?: boolean } = {}): Promise<LaunchedDomain> {
    const { paths } = this.deps;
    const binaryPath = this.binaryFor(def);
    const binary = await this.deps.caps.binary(binaryPath);
    const accel = def.type === 'qemu' ? 'tcg' : (await this.deps.caps.accel(binaryPath)).accel;
    const machine = resolveMachineType(binary, def.os.machine);
    if (!machine) {
      throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: Emulator '${binaryPath}' does not support machine type '${def.os.machine}'`);
    }
    const live = liveDefinition(def, {
      machine,
      serialLog: (port) => paths.serialLog(def.name, port),
      tapName: (i) => tapName(this.deps.hostId, def.uuid, i),
      networkBridge: (network) => this.networkBridge(network),
    });
    const runDir = paths.domainRunDir(def.uuid);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    mkdirSync(paths.logDir, { recursive: true });

    const taps: string[] = [];
    try {
      for (const iface of live.devices.interfaces) {
        if (iface.type === 'user') continue;
        const name = iface.targetDev as string;
        await createTap(name, iface.source.bridge as string);
        taps.push(name);
      }
      const argv = buildQemuArgv({
        def: live,
        accel,
        machine,
        qmpSocket: paths.qmpSocket(def.uuid),
        pidfile: paths.pidfile(def.uuid),
        resolveDisk: (disk) => this.resolveDisk(disk),
        tapNames: live.devices.interfaces.map((i) => i.targetDev),
        ...(options.incoming ? { incoming: true } : {}),
      });
      this.deps.log.debug({ vm: def.name, argv }, 'launching QEMU');
      const { process, monitor } = await QemuProcess.launch({
        binary: binaryPath,
        argv,
        logPath: paths.domainLog(def.name),
        qmpSocket: paths.qmpSocket(def.uuid),
      });
      return { live, process, monitor, accel, binary };
    } catch (err) {
      await Promise.all(taps.map(deleteTap));
      rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The path of a disk's data on this host; undefined for an empty drive or a network disk. */
  diskPath(disk: DiskDefinition): string | undefined {
    const r = this.resolveDisk(disk);
    return r.kind === 'file' || r.kind === 'block' ? r.path : undefined;
  }

  /** Undoes liveDefinition(): what travels to another host in a migration. */
  portable(live: DomainDefinition): DomainDefinition {
    return portableDefinition(live, {
      serialLog: (port) => this.deps.paths.serialLog(live.name, port),
      tapName: (i) => tapName(this.deps.hostId, live.uuid, i),
    });
  }

  /** Removes what a launch created, once QEMU is gone. */
  async cleanup(live: DomainDefinition): Promise<void> {
    await Promise.all(live.devices.interfaces.filter((i) => i.type !== 'user' && i.targetDev).map((i) => deleteTap(i.targetDev as string)));
    rmSync(this.deps.paths.domainRunDir(live.uuid), { recursive: true, force: true });
  }

  private networkBridge(network: string): string {
    if (!this.deps.resolveNetwork) throw new FerryError('NET_NOT_FOUND', `Network not found: no network with matching name '${network}'`, { details: { network } });
    return this.deps.resolveNetwork(network);
  }

  private resolveDisk(disk: DiskDefinition): ResolvedDiskSource {
    switch (disk.type) {
      case 'file':
        return disk.source.file ? { kind: 'file', path: disk.source.file } : { kind: 'empty' };
      case 'block':
        return { kind: 'block', path: disk.source.dev as string };
      case 'network':
        return { kind: 'network', disk };
      case 'volume': {
        if (!this.deps.resolveVolume) {
          throw new FerryError('POOL_NOT_FOUND', `Storage pool not found: no storage pool with matching name '${disk.source.pool}'`);
        }
        return this.deps.resolveVolume(disk.source.pool as string, disk.source.volume as string);
      }
    }
  }
}
