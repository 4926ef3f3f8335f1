import { FerryError } from '../errors/ferry-error.js';
import { platformDeviceArgs } from './devices/platform-devices.js';
import type { DiskBackingStore, DiskDefinition, DomainDefinition, HostdevDefinition, InterfaceDefinition } from '../vm/definition.js';
import type { DiskCacheMode } from '../shared/disk-modes.js';
import { withAliases } from '../vm/device-aliases.js';
import { machineFamily } from '../vm/machine-family.js';
import { charDeviceArgs } from './devices/char-devices.js';
import { controllerArgs } from './devices/controllers.js';
import { graphicsArgs, inputArgs, soundArgs, videoArgs } from './devices/desktop.js';
import { escapeOpt, pciProps, usbProps } from './devices/device-props.js';
import { miscDeviceArgs } from './devices/misc-devices.js';
import { filesystemArgs } from './devices/filesystems.js';
import { virtioOptionProps } from '../vm/devices/virtio-options.js';
import { nicArgs } from './devices/nic.js';
import { tpmArgs } from './devices/tpm.js';
import { sysinfoArgs } from './devices/sysinfo.js';
import { cryptoArgs } from './devices/crypto.js';
import { pstoreArgs } from './devices/pstore.js';
import { vsockArgs } from './devices/vsock.js';
import { shmemArgs } from './devices/shmem.js';
import { jsonDevice } from './devices/json-device.js';
import { iothreadVqMapping } from '../vm/devices/iothread-mapping.js';
import { machineOptions, platformArgs, platformCpuFlags } from './devices/platform.js';
import { smpArg, vcpuDeviceArgs } from './devices/vcpus.js';
import { cpuCacheFlags, cpuPhysAddrFlags } from '../vm/cpu-model.js';
import { iothreadObjects } from '../vm/iothreads.js';
import { firmwareArgs } from './devices/firmware.js';
import { type MemoryPaths, memoryDeviceArgs, memoryLayoutArgs, memoryMachineOptions, memorySizeArg } from './devices/memory.js';

import { backingLayers } from '../vm/devices/disk-backing.js';
import { networkProtocolNode } from './devices/disk-protocol.js';
import { throttleFilterNodeName, throttleFilterNodes, throttleGroupArgs, throttleNode, throttleNodeName } from './devices/disk-throttle.js';
import { backingNodeNames, diskNodeNames } from '../vm/device-aliases.js';
import {
  backingCookieSecretId,
  diskSecretArgs,
  formatSecretProps,
  masterKeyArgs,
  nvramSecretArgs,
  protocolSecretProps,
  type SecretArgs,
} from './devices/disk-secrets.js';
import { nbdTlsArgs } from './devices/nbd-tls.js';

/** Where a disk's data really is, once pools and volumes are resolved. */
export type ResolvedDiskSource =
  /** transientOverlay: the qcow2 overlay ferry made over a <transient/> disk's image (src/host/transient-disks.ts). */
  | { kind: 'file'; path: string; transientOverlay?: true }
  | { kind: 'block'; path: string }
  | { kind: 'network'; disk: DiskDefinition; sshHostKey?: string }
  | { kind: 'empty' };

export interface QemuArgvInput {
  def: DomainDefinition;
  accel: 'kvm' | 'tcg';
  /** The versioned machine type (pc-q35-10.0), already resolved from aliases. */
  machine: string;
  qmpSocket: string;
  pidfile: string;
  /** Resolves a disk to its data; volume disks need the pool's help. */
  resolveDisk: (disk: DiskDefinition) => ResolvedDiskSource;
  /** The descriptors (as QEMU will see them) of each tap-backed interface's tap, one per queue, by its index in def.devices.interfaces. */
  tapFds: readonly (number | readonly number[] | undefined)[];
  /** The vhost-net descriptors of each <driver name='vhost'> interface (one per queue), by the same index. */
  vhostFds?: readonly (readonly number[] | undefined)[];
  /** The /dev/vhost-vsock descriptor (as QEMU sees it) ferryd set the <vsock>'s guest CID on (needed only when there is one). */
  vsockFd?: number;
  /** QEMU's seccomp sandbox (qemu.conf's seccomp_sandbox): no fork/exec, no privilege changes, no obsolete calls. */
  sandbox?: boolean;
  /** Start QEMU waiting for an incoming migration (`-incoming defer`). */
  incoming?: boolean;
  /** The host's time the guest's RTC is reckoned from (<clock offset='variable'>); absent: now. */
  now?: Date;
  /** Where file-backed and hugepage guest RAM goes (the launcher resolves it; needed only when the definition asks for it). */
  memoryPaths?: MemoryPaths;
  /** The data socket of the swtpm ferryd runs for an emulated <tpm> (needed only when the definition has one). */
  tpmSocket?: string;
  /** The master key file and each disk secret's ciphertext (needed only when a disk has <auth>, <encryption> or <cookies>). */
  secrets?: SecretArgs;
  /**
   * The x509 directories QEMU reads (copies in its run directory): SPICE's server certificates
   * (absent: the host has no SPICE TLS, spice_tls), and the client certificates of NBD disks with tls='yes'.
   */
  tls?: { spiceX509Dir?: string; nbdX509Dir?: string };
}

/**
 * Builds QEMU's command line (without the binary) from a definition. A pure
 * function: the same input gives the same argv, so it is unit-tested directly
 * and the destination of a migration gets the same machine as the source.
 */
export function buildQemuArgv(input: QemuArgvInput): string[] {
  const q35 = machineFamily(input.machine) === 'q35';
  const def = withAliases(input.def, q35);
  const args: string[] = [];
  const push = (...a: string[]): void => void args.push(...a);

  push('-name', `guest=${escapeOpt(def.name)},debug-threads=on`);
  push('-uuid', def.uuid);
  const firmware = firmwareArgs(def);
  for (const node of firmware.blockdevs) push('-blockdev', node);
  push('-machine', [input.machine, ...machineOptions(def), ...memoryMachineOptions(def), ...firmware.machineOptions].join(','));
  // KVM's paravirt CPUID bits: QEMU's TCG drops them from the guest's CPU (with a warning), so a guest would run without what it was defined with.
  const kvmOnly = Object.entries(def.platform.kvmFeatures ?? {})
    .filter(([, on]) => on)
    .map(([k]) => k);
  if (input.accel === 'tcg' && kvmOnly.length > 0) {
    throw new FerryError(
      'XML_UNSUPPORTED',
      `unsupported configuration: <features><kvm> ${kvmOnly.map((k) => `<${k} state='on'>`).join(', ')} needs KVM; this domain runs under TCG (type='qemu', or no usable /dev/kvm here), which has none of KVM's paravirt features`,
    );
  }
  // KVM's dirty ring: under TCG (a type='kvm' domain on a host without KVM) QEMU tracks dirty pages itself; the guest sees no difference.
  const ring = def.platform.dirtyRingSize;
  const tb = def.platform.tbCacheMiB;
  push('-accel', input.accel === 'kvm' && ring ? `kvm,dirty-ring-size=${ring}` : input.accel === 'tcg' && tb !== undefined ? `tcg,tb-size=${tb}` : input.accel);
  const cpu = cpuModel(def, input.accel);
  push('-cpu', cpu);
  push(...firmware.globals);
  push('-m', def.memoryLayout || def.devices.memories ? memorySizeArg(def) : `size=${def.memoryKiB}k`);
  push('-smp', smpArg(def));
  push(...memoryLayoutArgs(def, input.memoryPaths));
  push(...sysinfoArgs(def));
  push(...platformArgs(def, q35, input.now));
  push('-no-user-config', '-nodefaults', '-msg', 'timestamp=on');
  // The guest's power-off and panic stop the vCPUs; ferryd then applies on_poweroff / on_crash.
  push('-no-shutdown', '-action', 'panic=pause');
  push('-S');
  push('-chardev', `socket,id=charmonitor,path=${escapeOpt(input.qmpSocket)},server=on,wait=off`);
  push('-mon', 'chardev=charmonitor,id=monitor,mode=control');
  push('-pidfile', input.pidfile);
  if (input.sandbox) push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  if (def.platform.asyncTeardown) push('-run-with', 'async-teardown=on');

  const os = def.os;
  if (os.kernel) push('-kernel', os.kernel);
  if (os.initrd) push('-initrd', os.initrd);
  if (os.cmdline !== undefined && os.kernel) push('-append', os.cmdline);
  push('-boot', bootOptions(def));
  for (const t of os.acpiTables ?? []) push('-acpitable', `${t.type === 'raw' ? '' : `sig=${t.type.toUpperCase()},`}file=${escapeOpt(t.path)}`);

  push(...masterKeyArgs(def, input.secrets));
  push(...nvramSecretArgs(def, input.secrets));
  push(...iothreadObjects(def));
  push(...platformDeviceArgs(def, q35));
  push(...controllerArgs(def, q35));
  push(...filesystemArgs(def, q35));
  push(...throttleGroupArgs(def));
  const bootIndex = bootIndexes(def);
  def.devices.disks.forEach((disk) =>
    args.push(
      ...diskSecretArgs(disk, input.secrets),
      ...nbdTlsArgs(disk, input.tls?.nbdX509Dir),
      ...diskArgs(disk, input.resolveDisk(disk), bootIndex.get(disk), q35, def),
    ),
  );
  def.devices.interfaces.forEach((iface, index) => {
    const fds = input.tapFds[index];
    args.push(
      ...nicArgs({ iface, index, tapFds: typeof fds === 'number' ? [fds] : fds, vhostFds: input.vhostFds?.[index], bootindex: bootIndex.get(iface), q35 }),
    );
  });
  push(...charDeviceArgs(def, q35));
  push(...inputArgs(def, q35));
  push(...graphicsArgs(def, input.tls?.spiceX509Dir));
  push(...soundArgs(def, q35));
  push(...videoArgs(def, q35));
  def.devices.hostdevs.forEach((h, i) => args.push(...hostdevArgs(h, i)));
  push(...miscDeviceArgs(def, q35));
  push(...tpmArgs(def, input.tpmSocket));
  push(...cryptoArgs(def, q35));
  if (def.devices.pstore) push(...pstoreArgs(def.devices.pstore, q35));
  if (def.devices.vsock) push(...vsockArgs(def.devices.vsock, input.vsockFd, q35));
  push(...shmemArgs(def, q35));
  push(...vcpuDeviceArgs(def, cpu.split(',')[0] as string));
  push(...memoryDeviceArgs(def, q35, input.memoryPaths));
  if (input.incoming) push('-incoming', 'defer');
  // <qemu:commandline>: appended as written, after everything ferry builds (libvirt's place for them).
  push(...(def.qemuCommandline?.args ?? []));
  return args;
}

/** -boot: the firmware's boot menu and reboot timeout, always strict (only the devices given a bootindex boot). */
function bootOptions(def: DomainDefinition): string {
  const opts: string[] = [];
  const menu = def.os.bootMenu;
  if (menu) opts.push(`menu=${menu.enable ? 'on' : 'off'}`);
  if (menu?.enable && menu.timeout !== undefined) opts.push(`splash-time=${menu.timeout}`);
  if (def.os.rebootTimeout !== undefined) opts.push(`reboot-timeout=${def.os.rebootTimeout}`);
  opts.push('strict=on');
  return opts.join(',');
}

function cpuModel(def: DomainDefinition, accel: 'kvm' | 'tcg'): string {
  const cpu = def.cpu;
  let model: string;
  if (!cpu || cpu.mode === 'maximum') model = 'max';
  else if (cpu.mode === 'host-passthrough' || cpu.mode === 'host-model') model = accel === 'kvm' ? 'host' : 'max';
  else model = cpu.model ?? 'max';
  const flags = (cpu?.features ?? [])
    .filter((f) => f.policy !== 'optional')
    .map((f) => `${f.policy === 'disable' || f.policy === 'forbid' ? '-' : '+'}${f.name}`);
  if (cpu?.migratable === 'off' && model === 'host') flags.push('migratable=off');
  if (cpu?.vendorId !== undefined) flags.push(`vendor=${escapeOpt(cpu.vendorId)}`);
  flags.push(...cpuCacheFlags(cpu));
  flags.push(...cpuPhysAddrFlags(cpu));
  if (cpu?.check === 'full') flags.push('enforce');
  flags.push(...platformCpuFlags(def));
  if (def.devices.panics.some((p) => p.model === 'hyperv')) flags.push('hv-crash=on');
  return [model, ...flags].join(',');
}

/** bootindex for each device: explicit <boot order=...> wins, else <os><boot dev=...> picks the first of its kind. */
function bootIndexes(def: DomainDefinition): Map<DiskDefinition | InterfaceDefinition, number> {
  const map = new Map<DiskDefinition | InterfaceDefinition, number>();
  const explicit = [...def.devices.disks, ...def.devices.interfaces].filter((d) => d.bootOrder !== undefined);
  // A redirected USB device's <boot order> (usb-redir's bootindex, set where it is built) is explicit too.
  if (explicit.length > 0 || def.devices.redirdevs.some((r) => r.bootOrder !== undefined)) {
    for (const d of explicit) map.set(d, d.bootOrder as number);
    return map;
  }
  if (def.os.kernel) return map;
  let index = 1;
  for (const dev of def.os.boot.length > 0 ? def.os.boot : ['hd' as const]) {
    const target =
      dev === 'hd'
        ? def.devices.disks.find((d) => d.device !== 'cdrom' && d.device !== 'floppy')
        : dev === 'cdrom'
          ? def.devices.disks.find((d) => d.device === 'cdrom')
          : dev === 'network'
            ? def.devices.interfaces[0]
            : def.devices.disks.find((d) => d.device === 'floppy');
    if (target && !map.has(target)) map.set(target, index++);
  }
  return map;
}

interface CacheFlags {
  direct: boolean;
  noFlush: boolean;
  writeCache: boolean;
}

/** libvirt's mapping of a cache mode onto QEMU's three knobs. */
export function cacheFlags(mode: DiskCacheMode | undefined): CacheFlags {
  switch (mode ?? 'default') {
    case 'none':
      return { direct: true, noFlush: false, writeCache: true };
    case 'writethrough':
      return { direct: false, noFlush: false, writeCache: false };
    case 'directsync':
      return { direct: true, noFlush: false, writeCache: false };
    case 'unsafe':
      return { direct: false, noFlush: true, writeCache: true };
    default:
      return { direct: false, noFlush: false, writeCache: true };
  }
}

function diskArgs(disk: DiskDefinition, source: ResolvedDiskSource, bootindex: number | undefined, q35: boolean, def: DomainDefinition): string[] {
  const names = diskNodeNames(disk.target.dev);
  const args: string[] = [];
  const cache = cacheFlags(disk.cache);
  const nodes = diskNodes(disk, source);
  for (const n of nodes) args.push('-blockdev', JSON.stringify(n));
  const drive = nodes.at(-1)?.['node-name'] as string | undefined;
  const bus = disk.target.bus;
  const props: string[] = [];
  if (drive) props.push(`drive=${drive}`);
  props.push(`id=${names.device}`);
  if (disk.device !== 'cdrom') props.push(`write-cache=${cache.writeCache ? 'on' : 'off'}`);
  if (disk.shareable) props.push('share-rw=on');
  if (disk.serial && bus !== 'fdc') props.push(`serial=${escapeOpt(disk.serial)}`);
  if (disk.wwn) props.push(`wwn=0x${disk.wwn.replace(/^0x/, '')}`);
  if (disk.vendor !== undefined) props.push(`vendor=${escapeOpt(disk.vendor)}`);
  const g = disk.geometry;
  if (g) props.push(`cyls=${g.cyls}`, `heads=${g.heads}`, `secs=${g.secs}`, ...(g.trans === undefined ? [] : [`bios-chs-trans=${g.trans}`]));
  if (disk.product !== undefined) props.push(`${bus === 'scsi' ? 'product' : 'model'}=${escapeOpt(disk.product)}`);
  if (disk.rotationRate !== undefined) props.push(`rotation_rate=${disk.rotationRate}`);
  props.push(...errorPolicyProps(disk));
  const b = disk.blockio;
  if (b?.logicalBlockSize !== undefined) props.push(`logical_block_size=${b.logicalBlockSize}`);
  if (b?.physicalBlockSize !== undefined) props.push(`physical_block_size=${b.physicalBlockSize}`);
  if (b?.discardGranularity !== undefined) props.push(`discard_granularity=${b.discardGranularity}`);
  if (bootindex !== undefined && bus !== 'fdc') props.push(`bootindex=${bootindex}`);

  const a = disk.address;
  const at = a?.type === 'drive' ? a : { controller: 0, bus: 0, target: 0, unit: 0 };
  if (bus === 'virtio') {
    const virtio = [
      disk.queues === undefined ? undefined : `num-queues=${disk.queues}`,
      disk.queueSize === undefined ? undefined : `queue-size=${disk.queueSize}`,
      disk.iothread === undefined ? undefined : `iothread=iothread${disk.iothread}`,
      disk.ioeventfd === undefined ? undefined : `ioeventfd=${disk.ioeventfd ? 'on' : 'off'}`,
      disk.eventIdx === undefined ? undefined : `event_idx=${disk.eventIdx ? 'on' : 'off'}`,
    ].filter((x): x is string => x !== undefined);
    if (disk.iothreadMapping) {
      // iothread-vq-mapping is a list: the device goes on the command line as JSON, as libvirt 11 writes it.
      args.push(
        '-device',
        jsonDevice('virtio-blk-pci', [...virtioOptionProps(disk.virtio), ...virtio], { 'iothread-vq-mapping': iothreadVqMapping(disk.iothreadMapping) }, [
          ...props,
          ...pciProps(a, q35, disk.acpiIndex),
        ]),
      );
    } else args.push('-device', ['virtio-blk-pci', ...virtioOptionProps(disk.virtio), ...virtio, ...props, ...pciProps(a, q35, disk.acpiIndex)].join(','));
  } else if (bus === 'scsi') {
    const model = disk.device === 'cdrom' ? 'scsi-cd' : disk.device === 'lun' && source.kind === 'block' ? 'scsi-block' : 'scsi-hd';
    const p = model === 'scsi-block' ? props.filter((x) => !x.startsWith('write-cache') && !x.startsWith('serial')) : props;
    // virtio-scsi addresses channel/target/lun; an LSI 53C895A has one bus of 7 targets, one LUN each.
    const lsi = def.devices.controllers.some((c) => c.type === 'scsi' && c.index === at.controller && c.model === 'lsilogic');
    const where = lsi ? [`scsi-id=${at.unit}`] : [`channel=${at.bus}`, `scsi-id=${at.target}`, `lun=${at.unit}`];
    args.push('-device', [model, `bus=scsi${at.controller}.0`, ...where, ...p].join(','));
  } else if (bus === 'usb') {
    const removable = disk.removable === undefined ? [] : [`removable=${disk.removable ? 'on' : 'off'}`];
    args.push('-device', ['usb-storage', ...usbProps(a), ...props, ...removable].join(','));
  } else if (bus === 'fdc') {
    // The floppy controller's drive A or B; its boot index is the controller's (isa-fdc.bootindexA/B).
    args.push('-device', ['floppy', `unit=${at.unit}`, ...props].join(','));
    if (bootindex !== undefined) args.push('-global', `isa-fdc.bootindex${at.unit === 0 ? 'A' : 'B'}=${bootindex}`);
  } else {
    // sata: the AHCI controller's ports (ide.N on q35's built-in one); ide: i440fx's two buses, two units each.
    const model = disk.device === 'cdrom' ? 'ide-cd' : 'ide-hd';
    const where = bus === 'ide' ? [`bus=ide.${at.bus}`, `unit=${at.unit}`] : [`bus=${q35 && at.controller === 0 ? 'ide' : `sata${at.controller}`}.${at.unit}`];
    args.push('-device', [model, ...where, ...props].join(','));
  }
  return args;
}

/**
 * The block nodes of a disk's medium, bottom up (protocol, format, then a
 * copy-on-read filter when asked); the last one is what the device reads.
 * None for an empty drive. Hotplug and change-media add the same nodes.
 */
export function diskNodes(disk: DiskDefinition, source: ResolvedDiskSource): Array<Record<string, unknown>> {
  if (source.kind === 'empty') return [];
  const names = diskNodeNames(disk.target.dev);
  const cache = cacheFlags(disk.cache);
  const common = {
    'read-only': disk.readonly,
    cache: { direct: cache.direct, 'no-flush': cache.noFlush },
    ...(disk.discard ? { discard: disk.discard } : {}),
  };
  const protocol = protocolNode(disk, source);
  const local = protocol.driver === 'file' || protocol.driver === 'host_device' || protocol.driver === 'host_cdrom';
  const aio = disk.io && local ? { aio: disk.io } : {};
  const backing = backingNodes(disk, { cache: common.cache });
  const nodes: Array<Record<string, unknown>> = [
    ...backing.nodes,
    { ...protocol, ...protocolSecretProps(disk), 'node-name': names.file, ...common, ...aio },
    {
      // A transient disk's overlay is qcow2 whatever the image is; its header names the image (read-only) as its backing.
      driver: source.kind === 'file' && source.transientOverlay ? 'qcow2' : disk.format,
      ...formatSecretProps(disk),
      file: names.file,
      'node-name': names.format,
      ...common,
      ...detectZeroes(disk),
      ...backingRef(disk, backing.top),
      ...(disk.metadataCacheBytes === undefined ? {} : { 'cache-size': disk.metadataCacheBytes }),
      ...(disk.discardNoUnref === undefined ? {} : { 'discard-no-unref': disk.discardNoUnref }),
    },
  ];
  if (disk.copyOnRead) {
    nodes.push({ driver: 'copy-on-read', file: names.format, 'node-name': corNodeName(disk.target.dev), ...(disk.discard ? { discard: disk.discard } : {}) });
  }
  if (disk.iotune) nodes.push(throttleNode(disk, nodes.at(-1)?.['node-name'] as string));
  nodes.push(...throttleFilterNodes(disk, nodes.at(-1)?.['node-name'] as string));
  return nodes;
}

/** The -device argument of one disk (what device_add gets when it is hot-plugged). */
export function diskDeviceArg(disk: DiskDefinition, source: ResolvedDiskSource, def: DomainDefinition, q35: boolean): string {
  const args = diskArgs(disk, source, undefined, q35, def);
  const i = args.indexOf('-device');
  return args[i + 1] as string;
}

/**
 * Every block node name a disk's medium may have, top down (throttle filter,
 * copy-on-read, format, protocol): what blockdev-del takes away on unplug or
 * a media change (deleting a name that was never added is harmless).
 */
export function diskNodeNamesTopDown(disk: DiskDefinition): string[] {
  const dev = disk.target.dev;
  const layers = backingLayers(disk).flatMap((_, i) => [backingNodeNames(dev, i + 1).format, backingNodeNames(dev, i + 1).file]);
  const filters = (disk.throttleFilters ?? []).map((_, i) => throttleFilterNodeName(dev, i + 1)).reverse();
  return [...filters, throttleNodeName(dev), corNodeName(dev), diskNodeNames(dev).format, diskNodeNames(dev).file, ...layers];
}

/** The node a copy_on_read disk's device reads through. */
export function corNodeName(dev: string): string {
  return `cor-${dev}`;
}

/** detect_zeroes on the format node; 'unmap' only works with discard='unmap' (libvirt then asks for 'on'). */
function detectZeroes(disk: DiskDefinition): Record<string, string> {
  if (disk.detectZeroes === undefined) return {};
  return { 'detect-zeroes': disk.detectZeroes === 'unmap' && disk.discard !== 'unmap' ? 'on' : disk.detectZeroes };
}

/** error_policy → werror (enospace is QEMU's enospc); rerror_policy, or error_policy when it has none, → rerror. */
export function errorPolicyProps(disk: DiskDefinition): string[] {
  const out: string[] = [];
  if (disk.errorPolicy) out.push(`werror=${disk.errorPolicy === 'enospace' ? 'enospc' : disk.errorPolicy}`);
  const rerror = disk.rerrorPolicy ?? (disk.errorPolicy === 'enospace' ? undefined : disk.errorPolicy);
  if (rerror) out.push(`rerror=${rerror}`);
  return out;
}

function protocolNode(disk: DiskDefinition, source: ResolvedDiskSource): Record<string, unknown> & { driver: string } {
  if (source.kind === 'file') return { driver: 'file', filename: source.path };
  if (source.kind === 'block') return { driver: disk.device === 'cdrom' ? 'host_cdrom' : 'host_device', filename: source.path };
  if (source.kind === 'network') return networkProtocolNode(disk.source, disk.target.dev, source.sshHostKey);
  throw new TypeError(`disk ${disk.target.dev} has no usable source`);
}

/**
 * The nodes of a disk's explicit backing chain (<backingStore>), bottom layer
 * first so each exists before the layer above names it; every layer is
 * read-only. Returns them with the name of the top layer's format node.
 */
function backingNodes(disk: DiskDefinition, common: Record<string, unknown>): { nodes: Array<Record<string, unknown>>; top?: string } {
  const layers = backingLayers(disk);
  const nodes: Array<Record<string, unknown>> = [];
  const dev = disk.target.dev;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as DiskBackingStore;
    const n = backingNodeNames(dev, i + 1);
    const protocol =
      layer.type === 'file'
        ? { driver: 'file', filename: layer.source.file }
        : layer.type === 'block'
          ? { driver: 'host_device', filename: layer.source.dev }
          : networkProtocolNode(layer.source, dev);
    nodes.push({
      ...protocol,
      ...(layer.cookies?.length ? { 'cookie-secret': backingCookieSecretId(dev, i + 1) } : {}),
      'node-name': n.file,
      ...common,
      'read-only': true,
    });
    nodes.push({
      driver: layer.format,
      file: n.file,
      'node-name': n.format,
      ...common,
      'read-only': true,
      ...(layer.metadataCacheBytes === undefined ? {} : { 'cache-size': layer.metadataCacheBytes }),
      ...backingRef(layer, i + 1 < layers.length ? backingNodeNames(dev, i + 2).format : undefined),
    });
  }
  return layers.length === 0 ? { nodes } : { nodes, top: backingNodeNames(dev, 1).format };
}

/** A qcow2 layer's "backing": the next layer's node, null for <backingStore/> (none), left out to follow the image header. */
function backingRef(layer: { format: string; backingStore?: DiskBackingStore | null }, next: string | undefined): Record<string, unknown> {
  if (layer.format !== 'qcow2') return {};
  if (next !== undefined) return { backing: next };
  return layer.backingStore === null ? { backing: null } : {};
}

function hostdevArgs(hostdev: HostdevDefinition, index: number): string[] {
  const id = `hostdev${index}`;
  switch (hostdev.type) {
    case 'pci':
      return ['-device', `vfio-pci,host=${hostdev.address},id=${id}`];
    case 'mdev':
      return ['-device', `vfio-pci,sysfsdev=/sys/bus/mdev/devices/${hostdev.address},id=${id}`];
    case 'usb': {
      const [vendor, product] = hostdev.address.split(':');
      return ['-device', `usb-host,vendorid=${vendor},productid=${product},id=${id}`];
    }
    case 'scsi':
      throw new TypeError('SCSI hostdev passthrough is not supported');
  }
}
