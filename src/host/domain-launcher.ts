import { appendFileSync, closeSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { buildQemuArgv, type ResolvedDiskSource } from '../qemu/argv.js';
import { type QemuBinaryInfo, resolveMachineType } from '../qemu/binary.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import { QemuProcess } from '../qemu/process.js';
import { createTap, deleteTap, tapName } from '../network/tap.js';
import type { DiskDefinition, DomainDefinition } from '../vm/definition.js';
import type { TapOpener } from '../system/tap-device.js';
import type { HostPaths } from './host-paths.js';
import { liveDefinition, portableDefinition, portsToChoose } from './live-definition.js';
import type { PortAllocator } from '../migration/port-allocator.js';
import type { QemuCapabilities } from './qemu-capabilities.js';
import type { QemuFile, QemuFileAccess } from './qemu-file-access.js';
import { qemuFilesOf, qemuHostDevices } from './qemu-files.js';

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
  /** What QEMU's unprivileged user may open, and how it is given (qemu.conf's user, group, dynamic_ownership). */
  access: QemuFileAccess;
  taps: TapOpener;
  /** QEMU's seccomp sandbox (seccomp_sandbox in ferryd.conf). */
  sandbox: boolean;
  /** Ports for VNC and SPICE displays with autoport (libvirt's 5900–65535), and VNC websockets (5700–65535). */
  graphicsPorts: PortAllocator;
  websocketPorts: PortAllocator;
  log: Logger;
}

/**
 * Turns a definition into a running (paused, -S) QEMU: resolves the machine
 * type and accelerator, creates tap devices, builds the argv and launches.
 * On any failure everything it created is removed again.
 */
export class DomainLauncher {
  /** The graphics ports each running domain was given, released when it stops. */
  private readonly chosenPorts = new Map<string, Array<{ port?: number; websocket?: number }>>();

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
    const graphicsPorts = await this.chooseGraphicsPorts(def);
    this.releaseGraphicsPorts(this.chosenPorts.get(def.uuid) ?? []);
    this.chosenPorts.set(def.uuid, graphicsPorts);
    let live: DomainDefinition;
    try {
      live = liveDefinition(def, {
        machine,
        serialLog: (port) => paths.serialLog(def.name, port),
        tapName: (i) => tapName(this.deps.hostId, def.uuid, i),
        networkBridge: (network) => this.networkBridge(network),
        channelSocket: (name) => paths.channelSocket(def.uuid, name),
        graphicsPorts,
      });
    } catch (err) {
      this.releaseGraphicsPorts(graphicsPorts);
      throw err;
    }
    const runDir = paths.domainRunDir(def.uuid);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(paths.logDir, { recursive: true, mode: 0o711 });

    const taps: string[] = [];
    const fds: number[] = [];
    try {
      this.deps.access.privateDir(runDir);
      this.deps.access.grant([...qemuFilesOf(live, (disk) => this.resolveDisk(disk)), ...qemuHostDevices()]);
      // QEMU gets each tap as a descriptor (fd 3, 4, ...): it never opens /dev/net/tun itself.
      const tapFds = live.devices.interfaces.map(() => undefined as number | undefined);
      for (const [i, iface] of live.devices.interfaces.entries()) {
        if (iface.type === 'user') continue;
        const name = iface.targetDev as string;
        await createTap(name, iface.source.bridge as string);
        taps.push(name);
        fds.push(this.openTap(name, iface.model === 'virtio'));
        tapFds[i] = 2 + fds.length;
      }
      const argv = buildQemuArgv({
        def: live,
        accel,
        machine,
        qmpSocket: paths.qmpSocket(def.uuid),
        pidfile: paths.pidfile(def.uuid),
        resolveDisk: (disk) => this.resolveDisk(disk),
        tapFds,
        sandbox: this.deps.sandbox,
        ...(options.incoming ? { incoming: true } : {}),
      });
      this.deps.log.debug({ vm: def.name, argv, user: this.deps.access.account?.name ?? 'root' }, 'launching QEMU');
      const { process, monitor } = await QemuProcess.launch({
        binary: binaryPath,
        argv,
        logPath: paths.domainLog(def.name),
        qmpSocket: paths.qmpSocket(def.uuid),
        ...(this.deps.access.account ? { account: this.deps.access.account } : {}),
        fds,
      });
      return { live, process, monitor, accel, binary };
    } catch (err) {
      await Promise.all(taps.map(deleteTap));
      rmSync(runDir, { recursive: true, force: true });
      this.releaseGraphicsPorts(graphicsPorts);
      throw err;
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** The path of a disk's data on this host; undefined for an empty drive or a network disk. */
  diskPath(disk: DiskDefinition): string | undefined {
    const r = this.resolveDisk(disk);
    return r.kind === 'file' || r.kind === 'block' ? r.path : undefined;
  }

  /** Copies files into a domain's run directory, readable by its QEMU; returns the directory. */
  stage(uuid: string, name: string, files: string[]): string {
    return this.deps.access.stage(files, join(this.deps.paths.domainRunDir(uuid), name));
  }

  /** Adds a line to the domain log (QEMU's output and ferry's notes about this domain), as libvirt's taint notes. */
  appendToDomainLog(name: string, line: string): void {
    appendFileSync(this.deps.paths.domainLog(name), `${new Date().toISOString()}: ${line}\n`, { mode: 0o600 });
  }

  grant(files: QemuFile[]): void {
    this.deps.access.grant(files);
  }

  /** Undoes liveDefinition(): what travels to another host in a migration. */
  portable(live: DomainDefinition): DomainDefinition {
    return portableDefinition(live, {
      serialLog: (port) => this.deps.paths.serialLog(live.name, port),
      tapName: (i) => tapName(this.deps.hostId, live.uuid, i),
      channelSocket: (name) => this.deps.paths.channelSocket(live.uuid, name),
    });
  }

  /** Removes what a launch created, once QEMU is gone. */
  async cleanup(live: DomainDefinition): Promise<void> {
    this.releaseGraphicsPorts(this.chosenPorts.get(live.uuid) ?? []);
    this.chosenPorts.delete(live.uuid);
    await Promise.all(live.devices.interfaces.filter((i) => i.type !== 'user' && i.targetDev).map((i) => deleteTap(i.targetDev as string)));
    rmSync(this.deps.paths.domainRunDir(live.uuid), { recursive: true, force: true });
  }

  /** Ports for autoport displays (5900 on, as libvirt's) and websocket='-1' (5700 on), on the address each listens on. */
  private async chooseGraphicsPorts(def: DomainDefinition): Promise<Array<{ port?: number; websocket?: number }>> {
    const chosen: Array<{ port?: number; websocket?: number }> = [];
    try {
      for (const g of def.devices.graphics) {
        const want = portsToChoose(g);
        const address = g.listens[0]?.address ?? '127.0.0.1';
        const c: { port?: number; websocket?: number } = {};
        chosen.push(c);
        if (want.port) c.port = await this.deps.graphicsPorts.acquire(address);
        if (want.websocket) c.websocket = await this.deps.websocketPorts.acquire(address);
      }
    } catch (err) {
      this.releaseGraphicsPorts(chosen);
      throw err;
    }
    return chosen;
  }

  private releaseGraphicsPorts(ports: ReadonlyArray<{ port?: number; websocket?: number }>): void {
    for (const p of ports) {
      if (p.port !== undefined) this.deps.graphicsPorts.release(p.port);
      if (p.websocket !== undefined) this.deps.websocketPorts.release(p.websocket);
    }
  }

  private openTap(name: string, vnetHdr: boolean): number {
    try {
      return this.deps.taps.open(name, { vnetHdr });
    } catch (err) {
      throw new FerryError('NET_TAP_FAILED', `Unable to open tap device ${name}: ${(err as Error).message}`, { cause: err });
    }
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
