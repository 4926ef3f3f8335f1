import { appendFileSync, closeSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type MachineScopes, type VmScope } from '../system/systemd/machine-scope.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { buildQemuArgv, type ResolvedDiskSource } from '../qemu/argv.js';
import { type QemuBinaryInfo, resolveMachineType } from '../qemu/binary.js';
import { qemuEnvironment } from '../vm/qemu-namespace.js';
import { emulatorFor } from '../qemu/emulator.js';
import { relabels } from '../vm/seclabel.js';
import { clockEnvironment } from '../vm/clock-offset.js';
import type { QemuMonitor } from '../qemu/monitor.js';
import { QemuProcess } from '../qemu/process.js';
import { tapName } from '../network/tap.js';
import { applyDisplayPasswords } from '../qemu/display-monitor.js';
import type { DiskDefinition, DomainDefinition, GraphicsDefinition } from '../vm/definition.js';
import { resolveGraphicsListens } from './graphics-listens.js';
import type { TapOpener } from '../system/tap-device.js';
import type { HostPaths } from './host-paths.js';
import { applyLinkStates } from './link-state.js';
import { NicBackends } from './nic-backends.js';
import { CoreDumps } from './core-dumps.js';
import { VhostVsock } from '../system/vhost-vsock.js';
import { withVsockCid } from '../vm/devices/vsock.js';
import { liveDefinition, portableDefinition, portsToChoose } from './live-definition.js';
import type { PortAllocator } from '../system/port-allocator.js';
import type { QemuCapabilities } from './qemu-capabilities.js';
import { checkPvhInitrdWithTpm } from './pvh-kernel.js';
import type { QemuFile, QemuFileAccess } from './qemu-file-access.js';
import { hugepageSizesKiB } from '../qemu/devices/memory.js';
import { qemuFilesOf, qemuHostDevices } from './qemu-files.js';
import { resolveDomainSecrets, secretArgs, type SecretSource } from './domain-secrets.js';
import { SwtpmRunner } from './swtpm.js';
import { DbusDaemonRunner, needsDbusDaemon } from './dbus-daemon.js';
import { withStartupPolicy } from './startup-policy.js';
import { type MemoryHostFacts, readMemoryHostFacts, resolveMemoryPaths } from './memory-host.js';
import { chooseFirmware } from '../vm/firmware-select.js';
import { readFirmwareDescriptors } from './firmware-descriptors.js';
import { ensureNvram } from './nvram-store.js';
import { prepareTransientDisks } from './transient-disks.js';
import { withNumaAdvice } from './numa-placement.js';
import { type HostNumaNode, readHostNumaTopology } from './numa-topology.js';
import { type QemuTlsConfig, stageQemuTls } from './qemu-tls-dirs.js';
import { knownHostKeyHash } from './ssh-known-hosts.js';
import { agentSockets } from '../vm/devices/disk.js';
import { checkShmemServers } from './shmem-servers.js';
import { checkSmartcardDatabases } from './smartcard-databases.js';

export interface LaunchedDomain {
  live: DomainDefinition;
  process: QemuProcess;
  monitor: QemuMonitor;
  accel: 'kvm' | 'tcg';
  binary: QemuBinaryInfo;
}

/** The run directory's record of the VM's scope (MachineScopes), read when the VM ends. */
const SCOPE_FILE = 'machine-scope.json';

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
  /** ferryd.conf's vnc_listen and spice_listen: where a display that names no address listens (default 127.0.0.1). */
  displayListen?: { vnc: string; spice: string };
  /** The address of an active virtual network on this host (<listen type='network'>). */
  networkAddress?: (network: string) => string;
  log: Logger;
  /** Where the firmware descriptors are (default: /usr/share/qemu/firmware, /etc/qemu/firmware). */
  firmwareDescriptorDirs?: readonly string[];
  /** The host's secrets (secret-define): disks' <auth>, <encryption> (absent: a domain naming a secret cannot start). */
  secrets?: SecretSource;
  /** Host NUMA nodes, hugetlbfs mounts, limits (default: read from /proc and /sys). */
  memoryHost?: () => MemoryHostFacts;
  /** The host's NUMA nodes for placement='auto' (default: read from /sys/devices/system/node). */
  numaTopology?: () => HostNumaNode[];
  /** The x509 directories for SPICE TLS (spice_tls) and NBD disks over TLS (absent: no SPICE TLS, NBD from /etc/pki/ferry). */
  qemuTls?: QemuTlsConfig;
  /** The kernel's vhost-vsock (absent: /dev/vhost-vsock, opened when a domain has a <vsock>). */
  vhostVsock?: VhostVsock;
  /** Each VM's scope under machine.slice (systemd-machined or systemd); absent or disabled: no systemd, QEMU stays where ferryd is. */
  machines?: MachineScopes;
}

/**
 * Turns a definition into a running (paused, -S) QEMU: resolves the machine
 * type and accelerator, creates tap devices, builds the argv and launches.
 * On any failure everything it created is removed again.
 */
export class DomainLauncher {
  /** The graphics ports each running domain was given, released when it stops. */
  private readonly chosenPorts = new Map<string, Array<{ port?: number; websocket?: number; tlsPort?: number }>>();

  private readonly nics: NicBackends;

  /** The swtpm of each domain with an emulated TPM. */
  readonly swtpm: SwtpmRunner;

  /** The private bus of each domain with a D-Bus display on ferryd's bus. */
  readonly dbus: DbusDaemonRunner;

  /** Automatic core dumps of the guests (STATE_DIR/dump). */
  readonly dumps: CoreDumps;

  constructor(private readonly deps: DomainLauncherDeps) {
    this.nics = new NicBackends(deps.taps);
    this.dbus = new DbusDaemonRunner({ paths: deps.paths, account: deps.access.account, log: deps.log });
    this.dumps = new CoreDumps({ dir: deps.paths.dumpDir, access: deps.access, log: deps.log });
    this.swtpm = new SwtpmRunner({ paths: deps.paths, account: deps.access.account, log: deps.log, ...(deps.secrets ? { secrets: deps.secrets } : {}) });
  }

  /** Where this ferryd keeps its files. */
  get paths(): HostPaths {
    return this.deps.paths;
  }

  /** The account QEMU runs as (undefined: root). */
  get qemuAccount(): QemuFileAccess['account'] {
    return this.deps.access.account;
  }

  binaryFor(def: DomainDefinition): string {
    return emulatorFor(def, this.deps.qemuBinary);
  }

  /**
   * Completes <os firmware=...>, <loader> and <nvram> from this host's
   * firmware descriptors and NVRAM directory (libvirt does it at define; a
   * definition with nothing to choose comes back as it is).
   */
  completeFirmware(def: DomainDefinition): DomainDefinition {
    if (!def.os.firmware) return def;
    const descriptors = readFirmwareDescriptors(this.deps.firmwareDescriptorDirs);
    const choice = chooseFirmware(def, descriptors, (format) => this.deps.paths.nvram(def.name, format));
    if (!choice) return def;
    const platform = choice.smm === undefined ? def.platform : { ...def.platform, smm: choice.smm };
    return { ...def, os: { ...def.os, firmware: choice.firmware }, platform };
  }

  /** Where a domain's NVRAM is kept on this host when its definition names no path. */
  defaultNvramPath(name: string, format: 'raw' | 'qcow2'): string {
    return this.deps.paths.nvram(name, format);
  }

  async launch(written: DomainDefinition, options: { incoming?: boolean } = {}): Promise<LaunchedDomain> {
    const { paths } = this.deps;
    const def = this.completeFirmware(written);
    const binaryPath = this.binaryFor(def);
    const binary = await this.deps.caps.binary(binaryPath);
    const accel = def.type === 'qemu' ? 'tcg' : (await this.deps.caps.accel(binaryPath)).accel;
    const machine = resolveMachineType(binary, def.os.machine);
    if (!machine) {
      throw new FerryError('XML_UNSUPPORTED', `unsupported configuration: Emulator '${binaryPath}' does not support machine type '${def.os.machine}'`);
    }
    const started = options.incoming ? def : this.applyStartupPolicy(def);
    const listening = { ...started, devices: { ...started.devices, graphics: this.resolveListens(started) } };
    const graphicsPorts = await this.chooseGraphicsPorts(listening);
    this.releaseGraphicsPorts(this.chosenPorts.get(def.uuid) ?? []);
    this.chosenPorts.set(def.uuid, graphicsPorts);
    let live: DomainDefinition;
    try {
      live = liveDefinition(listening, {
        machine,
        serialLog: (port) => paths.serialLog(def.name, port),
        tapName: (i) => tapName(this.deps.hostId, def.uuid, i),
        networkBridge: (network) => this.networkBridge(network),
        channelSocket: (name) => paths.channelSocket(def.uuid, name),
        shmemSocket: (name) => paths.shmemSocket(name),
        graphicsPorts,
        ...(needsDbusDaemon(listening) ? { dbusSocket: this.dbus.socket(def.uuid) } : {}),
      });
      // placement='auto': the nodes and CPUs libvirt would ask numad for, from this host's topology now.
      live = withNumaAdvice(live, (this.deps.numaTopology ?? readHostNumaTopology)());
    } catch (err) {
      this.releaseGraphicsPorts(graphicsPorts);
      throw err;
    }
    let secretValues: Map<string, Buffer>;
    try {
      secretValues = resolveDomainSecrets(live, this.deps.secrets);
    } catch (err) {
      this.releaseGraphicsPorts(graphicsPorts);
      throw err;
    }
    try {
      checkShmemServers(live);
      checkSmartcardDatabases(live);
      if (!options.incoming) checkPvhInitrdWithTpm(live);
    } catch (err) {
      this.releaseGraphicsPorts(graphicsPorts);
      throw err;
    }
    const runDir = paths.domainRunDir(def.uuid);
    // A bus left from an earlier run (ferryd stopped before it could end it) goes with its run directory.
    await this.dbus.stop(def.uuid);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(paths.logDir, { recursive: true, mode: 0o711 });

    const fds: number[] = [];
    try {
      this.deps.access.privateDir(runDir);
      // The variable store exists before QEMU opens it: from its template at the first start (an incoming
      // migration's was written in Prepare, or QEMU fills it from the stream when it resumes).
      if (ensureNvram(live)) this.deps.log.info({ vm: def.name, nvram: live.os.firmware?.nvram?.path }, 'created the NVRAM from its template');
      // <transient/> disks: a fresh overlay in the run directory over each image (gone with the directory at stop).
      const transient = await prepareTransientDisks(live, runDir, (disk) => this.resolveDisk(disk));
      this.deps.access.grant([...qemuFilesOf(live, (disk) => this.resolveDisk(disk)), ...transient.files, ...qemuHostDevices()], {
        relabel: relabels(live.seclabels),
      });
      // The <vsock>'s guest CID, claimed on /dev/vhost-vsock before QEMU starts; QEMU keeps the descriptor and the claim.
      let vsockFd: number | undefined;
      if (live.devices.vsock) {
        const { fd, cid } = (this.deps.vhostVsock ?? new VhostVsock()).acquire(live.devices.vsock.cid, live.devices.vsock.cidAuto);
        fds.push(fd);
        vsockFd = 2 + fds.length;
        live = withVsockCid(live, cid);
      }
      // QEMU gets each tap as descriptors (fd 3, 4, ...; one per queue): it never opens /dev/net/tun itself.
      const { tapFds, vhostFds } = await this.nics.setUp(live, fds);
      // The emulated TPM's swtpm runs before QEMU, which connects to it at start.
      const tpmSocket = await this.swtpm.start(live, options.incoming ? { incoming: true } : {});
      // The D-Bus display's bus runs before QEMU, which registers org.qemu on it at start (a destination starts its own).
      await this.dbus.start(live);
      const memoryPaths = live.memoryLayout || live.devices.memories ? this.memoryPaths(live, runDir) : undefined;
      const secrets = secretArgs(secretValues, runDir, (path, key) => this.deps.access.privateFile(path, key));
      const tls = stageQemuTls(live, this.deps.qemuTls, (name, files) => this.stage(def.uuid, name, files));
      const argv = buildQemuArgv({
        def: live,
        accel,
        machine,
        qmpSocket: paths.qmpSocket(def.uuid),
        pidfile: paths.pidfile(def.uuid),
        resolveDisk: transient.resolve,
        tapFds,
        vhostFds,
        ...(vsockFd === undefined ? {} : { vsockFd }),
        sandbox: this.deps.sandbox,
        ...(options.incoming ? { incoming: true } : {}),
        ...(memoryPaths ? { memoryPaths } : {}),
        ...(tpmSocket ? { tpmSocket } : {}),
        ...(secrets ? { secrets } : {}),
        tls,
      });
      this.deps.log.debug({ vm: def.name, argv, user: this.deps.access.account?.name ?? 'root' }, 'launching QEMU');
      const { process, monitor } = await QemuProcess.launch({
        binary: binaryPath,
        argv,
        logPath: paths.domainLog(def.name),
        qmpSocket: paths.qmpSocket(def.uuid),
        ...(this.deps.access.account ? { account: this.deps.access.account } : {}),
        ...(this.deps.machines?.enabled ? { beforeExec: (pid: number) => this.enterScope(live, pid) } : {}),
        env: qemuEnvironment(live.qemuCommandline, {
          PATH: globalThis.process.env.PATH ?? '/usr/bin:/bin',
          LC_ALL: 'C',
          ...clockEnvironment(live),
          ...sshAgentEnvironment(live),
        }),
        fds,
      });
      try {
        await applyLinkStates(monitor, live);
        // Display passwords over QMP while QEMU is still paused (-S or incoming): never on the command line.
        await applyDisplayPasswords(monitor, live.devices.graphics);
      } catch (err) {
        await process.terminate({ quit: () => monitor.quit() });
        throw err;
      }
      return { live, process, monitor, accel, binary };
    } catch (err) {
      await this.nics.tearDown(live);
      await this.swtpm.stop(def.uuid);
      await this.dbus.stop(def.uuid);
      await this.leaveScope(def.uuid);
      rmSync(runDir, { recursive: true, force: true });
      this.releaseGraphicsPorts(graphicsPorts);
      throw err;
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Where a disk's data is on this host (volumes resolved through their pool). */
  resolve(disk: DiskDefinition): ResolvedDiskSource {
    return this.resolveDisk(disk);
  }

  /** Checks the host against the memory layout; hugepage RAM goes into a directory of QEMU's own on each mount. */
  private memoryPaths(def: DomainDefinition, runDir: string): ReturnType<typeof resolveMemoryPaths> {
    const resolved = resolveMemoryPaths(def, runDir, (this.deps.memoryHost ?? readMemoryHostFacts)());
    const mounts: Record<number, string> = {};
    for (const [size, dir] of Object.entries(resolved.hugepageMounts)) {
      const own = join(dir, 'ferry', def.uuid);
      mounts[Number(size)] = own;
    }
    for (const size of Object.keys(mounts)) {
      if (!usedHugepageSize(def, Number(size), resolved.defaultHugepageKiB)) delete mounts[Number(size)];
      else {
        // The mount's own ferry/ directory only needs to be passed through; the domain's is QEMU's.
        mkdirSync(join(resolved.hugepageMounts[Number(size)] as string, 'ferry'), { recursive: true, mode: 0o711 });
        this.deps.access.privateDir(mounts[Number(size)] as string);
      }
    }
    return { ...resolved, hugepageMounts: mounts };
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
      graphicsSocket: (type) => this.graphicsSocket(live.uuid, type),
      dbusSocket: this.dbus.socket(live.uuid),
      shmemSocket: (name) => this.deps.paths.shmemSocket(name),
    });
  }

  /** Where a display with <listen type='socket'/> and no path listens: the domain's run directory. */
  private graphicsSocket(uuid: string, type: 'vnc' | 'spice'): string {
    return join(this.deps.paths.domainRunDir(uuid), `${type}.sock`);
  }

  /** Removes what a launch created, once QEMU is gone. */
  async cleanup(live: DomainDefinition): Promise<void> {
    this.releaseGraphicsPorts(this.chosenPorts.get(live.uuid) ?? []);
    this.chosenPorts.delete(live.uuid);
    await this.nics.tearDown(live);
    await this.swtpm.stop(live.uuid);
    await this.dbus.stop(live.uuid);
    await this.leaveScope(live.uuid);
    rmSync(this.deps.paths.domainRunDir(live.uuid), { recursive: true, force: true });
  }

  /**
   * Puts a just-spawned QEMU (waiting before exec) into its own scope under machine.slice, with the helpers
   * that must live as long as it (swtpm, the display's dbus-daemon: started before QEMU, they are in
   * ferryd's cgroup until now). The scope is written in the run directory, where a restarted ferryd finds it.
   */
  private async enterScope(live: DomainDefinition, pid: number): Promise<void> {
    const machines = this.deps.machines as MachineScopes;
    const scope = await machines.register({ pid, name: live.name, uuid: live.uuid });
    if (!scope) return;
    writeFileSync(join(this.deps.paths.domainRunDir(live.uuid), SCOPE_FILE), `${JSON.stringify(scope)}\n`, { mode: 0o600 });
    const helpers = [this.swtpm.pidOf(live.uuid), this.dbus.pidOf(live.uuid)].filter((p): p is number => p !== undefined);
    await machines.attach(scope, helpers);
    this.deps.log.info({ vm: live.name, pid, scope: scope.unit, machine: scope.machine }, 'QEMU runs in its own scope');
  }

  /** Ends the VM's scope once its QEMU and helpers are gone (never before: its end would kill them). */
  private async leaveScope(uuid: string): Promise<void> {
    const machines = this.deps.machines;
    if (!machines?.enabled) return;
    let scope: VmScope;
    try {
      scope = JSON.parse(readFileSync(join(this.deps.paths.domainRunDir(uuid), SCOPE_FILE), 'utf8')) as VmScope;
    } catch {
      return;
    }
    await machines.terminate(scope).catch((err: unknown) => this.deps.log.warn({ uuid, scope: scope.unit, err }, "cannot end the VM's scope"));
  }

  /** Ports for autoport displays (5900 on, as libvirt's) and websocket='-1' (5700 on), on the address each listens on. */
  private async chooseGraphicsPorts(def: DomainDefinition): Promise<Array<{ port?: number; websocket?: number; tlsPort?: number }>> {
    const chosen: Array<{ port?: number; websocket?: number; tlsPort?: number }> = [];
    try {
      for (const g of def.devices.graphics) {
        const want = portsToChoose(g, this.deps.qemuTls?.spiceDir !== undefined);
        const address = g.listens[0]?.address ?? '127.0.0.1';
        const c: { port?: number; websocket?: number; tlsPort?: number } = {};
        chosen.push(c);
        if (want.port) c.port = await this.deps.graphicsPorts.acquire(address);
        if (want.tlsPort) c.tlsPort = await this.deps.graphicsPorts.acquire(address);
        if (want.websocket) c.websocket = await this.deps.websocketPorts.acquire(address);
      }
    } catch (err) {
      this.releaseGraphicsPorts(chosen);
      throw err;
    }
    return chosen;
  }

  /** Where each display listens here (resolveGraphicsListens): the configured default, a network's address, a socket in the run directory. */
  private resolveListens(def: DomainDefinition): GraphicsDefinition[] {
    return resolveGraphicsListens(def.devices.graphics, {
      vncListen: this.deps.displayListen?.vnc ?? '127.0.0.1',
      spiceListen: this.deps.displayListen?.spice ?? '127.0.0.1',
      networkAddress: (network) => {
        if (!this.deps.networkAddress)
          throw new FerryError('NET_NOT_FOUND', `Network not found: no network with matching name '${network}'`, { details: { network } });
        return this.deps.networkAddress(network);
      },
      socketPath: (type) => this.graphicsSocket(def.uuid, type),
    });
  }

  private releaseGraphicsPorts(ports: ReadonlyArray<{ port?: number; websocket?: number; tlsPort?: number }>): void {
    for (const p of ports) {
      if (p.port !== undefined) this.deps.graphicsPorts.release(p.port);
      if (p.tlsPort !== undefined) this.deps.graphicsPorts.release(p.tlsPort);
      if (p.websocket !== undefined) this.deps.websocketPorts.release(p.websocket);
    }
  }

  private networkBridge(network: string): string {
    if (!this.deps.resolveNetwork)
      throw new FerryError('NET_NOT_FOUND', `Network not found: no network with matching name '${network}'`, { details: { network } });
    return this.deps.resolveNetwork(network);
  }

  /** <source startupPolicy>: a missing optional/requisite source is left out at a start (src/host/startup-policy.ts). */
  private applyStartupPolicy(def: DomainDefinition): DomainDefinition {
    const present = (disk: DiskDefinition): boolean => {
      try {
        const r = this.resolveDisk(disk);
        return r.kind !== 'file' && r.kind !== 'block' ? true : existsSync(r.path);
      } catch {
        return false; // a volume whose pool is missing or inactive
      }
    };
    const { def: started, dropped } = withStartupPolicy(def, present);
    for (const d of dropped) this.deps.log.warn({ vm: def.name, disk: d.dev, dropped: d.what }, 'startupPolicy: the source is missing, started without it');
    return started;
  }

  private resolveDisk(disk: DiskDefinition): ResolvedDiskSource {
    switch (disk.type) {
      case 'file':
        return disk.source.file ? { kind: 'file', path: disk.source.file } : { kind: 'empty' };
      case 'block':
        return { kind: 'block', path: disk.source.dev as string };
      case 'network': {
        const s = disk.source;
        // An ssh disk's server key: read from <knownHosts> on this host at each start (a destination reads its own).
        if (s.protocol !== 'ssh' || s.knownHosts === undefined) return { kind: 'network', disk };
        return { kind: 'network', disk, sshHostKey: knownHostKeyHash(s.knownHosts, s.hosts?.[0]?.name ?? '', s.hosts?.[0]?.port ?? 22) };
      }
      case 'volume': {
        if (!this.deps.resolveVolume) {
          throw new FerryError('POOL_NOT_FOUND', `Storage pool not found: no storage pool with matching name '${disk.source.pool}'`);
        }
        return this.deps.resolveVolume(disk.source.pool as string, disk.source.volume as string);
      }
    }
  }
}

function usedHugepageSize(def: DomainDefinition, size: number, defaultKiB: number): boolean {
  return hugepageSizesKiB(def, defaultKiB).includes(size);
}

/** QEMU's ssh driver authenticates through the ssh-agent of SSH_AUTH_SOCK: the one its ssh disks' <identity agentsock> names. */
function sshAgentEnvironment(def: DomainDefinition): Record<string, string> {
  const [sock] = agentSockets(def);
  return sock === undefined ? {} : { SSH_AUTH_SOCK: sock };
}
