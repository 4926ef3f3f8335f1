import type {
  DiskCacheMode,
  DiskDefinition,
  DomainDefinition,
  HostdevDefinition,
  InterfaceDefinition,
} from '../vm/definition.js';
import { withAliases } from '../vm/device-aliases.js';
import { machineFamily } from '../vm/machine-family.js';
import { charDeviceArgs } from './devices/char-devices.js';
import { controllerArgs } from './devices/controllers.js';
import { graphicsArgs, inputArgs, soundArgs, videoArgs } from './devices/desktop.js';
import { escapeOpt, pciProps } from './devices/device-props.js';
import { miscDeviceArgs } from './devices/misc-devices.js';
import { machineOptions, platformArgs, platformCpuFlags } from './devices/platform.js';

export { diskNodeNames } from '../vm/device-aliases.js';
export { escapeOpt } from './devices/device-props.js';
import { diskNodeNames } from '../vm/device-aliases.js';

/** Where a disk's data really is, once pools and volumes are resolved. */
export type ResolvedDiskSource =
  | { kind: 'file'; path: string }
  | { kind: 'block'; path: string }
  | { kind: 'network'; disk: DiskDefinition }
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
  /** The descriptor (as QEMU will see it) of each bridge/network interface's tap, by its index in def.devices.interfaces. */
  tapFds: readonly (number | undefined)[];
  /** QEMU's seccomp sandbox (qemu.conf's seccomp_sandbox): no fork/exec, no privilege changes, no obsolete calls. */
  sandbox?: boolean;
  /** Start QEMU waiting for an incoming migration (`-incoming defer`). */
  incoming?: boolean;
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
  push('-machine', [input.machine, ...machineOptions(def)].join(','));
  push('-accel', input.accel);
  push('-cpu', cpuModel(def, input.accel));
  push('-m', `size=${def.memoryKiB}k`);
  push('-smp', smp(def));
  push(...platformArgs(def, q35));
  push('-no-user-config', '-nodefaults', '-msg', 'timestamp=on');
  // The guest's power-off and panic stop the vCPUs; ferryd then applies on_poweroff / on_crash.
  push('-no-shutdown', '-action', 'panic=pause');
  push('-S');
  push('-chardev', `socket,id=charmonitor,path=${escapeOpt(input.qmpSocket)},server=on,wait=off`);
  push('-mon', 'chardev=charmonitor,id=monitor,mode=control');
  push('-pidfile', input.pidfile);
  if (input.sandbox) push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');

  const os = def.os;
  if (os.kernel) push('-kernel', os.kernel);
  if (os.initrd) push('-initrd', os.initrd);
  if (os.cmdline !== undefined && os.kernel) push('-append', os.cmdline);
  push('-boot', 'strict=on');

  push(...controllerArgs(def, q35));
  const bootIndex = bootIndexes(def);
  def.devices.disks.forEach((disk) => args.push(...diskArgs(disk, input.resolveDisk(disk), bootIndex.get(disk), q35)));
  def.devices.interfaces.forEach((iface, i) => args.push(...nicArgs(iface, i, input.tapFds[i], bootIndex.get(iface), q35)));
  push(...charDeviceArgs(def, q35));
  push(...inputArgs(def, q35));
  push(...graphicsArgs(def));
  push(...soundArgs(def, q35));
  push(...videoArgs(def, q35));
  def.devices.hostdevs.forEach((h, i) => args.push(...hostdevArgs(h, i)));
  push(...miscDeviceArgs(def, q35));
  if (input.incoming) push('-incoming', 'defer');
  return args;
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
  if (cpu?.check === 'full') flags.push('enforce');
  flags.push(...platformCpuFlags(def));
  if (def.devices.panics.some((p) => p.model === 'hyperv')) flags.push('hv-crash=on');
  return [model, ...flags].join(',');
}

function smp(def: DomainDefinition): string {
  const t = def.cpu?.topology;
  if (!t) return String(def.vcpus);
  return `${def.vcpus},sockets=${t.sockets},dies=${t.dies},cores=${t.cores},threads=${t.threads}`;
}

/** bootindex for each device: explicit <boot order=...> wins, else <os><boot dev=...> picks the first of its kind. */
function bootIndexes(def: DomainDefinition): Map<DiskDefinition | InterfaceDefinition, number> {
  const map = new Map<DiskDefinition | InterfaceDefinition, number>();
  const explicit = [...def.devices.disks, ...def.devices.interfaces].filter((d) => d.bootOrder !== undefined);
  if (explicit.length > 0) {
    for (const d of explicit) map.set(d, d.bootOrder as number);
    return map;
  }
  if (def.os.kernel) return map;
  let index = 1;
  for (const dev of def.os.boot.length > 0 ? def.os.boot : ['hd' as const]) {
    const target =
      dev === 'hd'
        ? def.devices.disks.find((d) => d.device !== 'cdrom')
        : dev === 'cdrom'
          ? def.devices.disks.find((d) => d.device === 'cdrom')
          : dev === 'network'
            ? def.devices.interfaces[0]
            : undefined;
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

function diskArgs(
  disk: DiskDefinition,
  source: ResolvedDiskSource,
  bootindex: number | undefined,
  q35: boolean,
): string[] {
  const names = diskNodeNames(disk.target.dev);
  const args: string[] = [];
  const cache = cacheFlags(disk.cache);
  const common = {
    'read-only': disk.readonly,
    cache: { direct: cache.direct, 'no-flush': cache.noFlush },
    ...(disk.discard ? { discard: disk.discard } : {}),
  };
  const hasMedium = source.kind !== 'empty';
  if (hasMedium) {
    const protocol = protocolNode(disk, source);
    const local = protocol.driver === 'file' || protocol.driver === 'host_device';
    const aio = disk.io && local ? { aio: disk.io } : {};
    args.push('-blockdev', JSON.stringify({ ...protocol, 'node-name': names.file, ...common, ...aio }));
    args.push('-blockdev', JSON.stringify({ driver: disk.format, file: names.file, 'node-name': names.format, ...common }));
  }
  const props: string[] = [];
  if (hasMedium) props.push(`drive=${names.format}`);
  props.push(`id=${names.device}`);
  if (disk.device !== 'cdrom') props.push(`write-cache=${cache.writeCache ? 'on' : 'off'}`);
  if (disk.shareable) props.push('share-rw=on');
  if (disk.serial) props.push(`serial=${escapeOpt(disk.serial)}`);
  if (bootindex !== undefined) props.push(`bootindex=${bootindex}`);

  const a = disk.address;
  if (disk.target.bus === 'virtio') {
    args.push('-device', ['virtio-blk-pci', ...props, ...pciProps(a, q35)].join(','));
  } else if (disk.target.bus === 'scsi') {
    const model = disk.device === 'cdrom' ? 'scsi-cd' : disk.device === 'lun' && source.kind === 'block' ? 'scsi-block' : 'scsi-hd';
    const p = model === 'scsi-block' ? props.filter((x) => !x.startsWith('write-cache') && !x.startsWith('serial')) : props;
    const at = a?.type === 'drive' ? a : { controller: 0, bus: 0, target: 0, unit: 0 };
    args.push('-device', [model, `bus=scsi${at.controller}.0`, `channel=${at.bus}`, `scsi-id=${at.target}`, `lun=${at.unit}`, ...p].join(','));
  } else {
    // sata: the AHCI controller's ports (ide.N on q35's built-in one); ide: i440fx's two buses, two units each.
    const model = disk.device === 'cdrom' ? 'ide-cd' : 'ide-hd';
    const at = a?.type === 'drive' ? a : { controller: 0, bus: 0, target: 0, unit: 0 };
    const bus = disk.target.bus === 'ide' ? [`bus=ide.${at.bus}`, `unit=${at.unit}`]
      : [`bus=${q35 && at.controller === 0 ? 'ide' : `sata${at.controller}`}.${at.unit}`];
    args.push('-device', [model, ...bus, ...props].join(','));
  }
  return args;
}

function protocolNode(disk: DiskDefinition, source: ResolvedDiskSource): Record<string, unknown> & { driver: string } {
  if (source.kind === 'file') return { driver: 'file', filename: source.path };
  if (source.kind === 'block') return { driver: 'host_device', filename: source.path };
  const s = disk.source;
  const host = s.hosts?.[0] ?? { name: '' };
  switch (s.protocol) {
    case 'nbd': {
      const server = host.transport === 'unix' || host.socket
        ? { type: 'unix', path: host.socket ?? '' }
        : { type: 'inet', host: host.name, port: String(host.port ?? 10809) };
      return { driver: 'nbd', server, ...(s.name ? { export: s.name } : {}) };
    }
    case 'iscsi': {
      const [target, lun] = splitIscsiName(s.name ?? '');
      return { driver: 'iscsi', transport: 'tcp', portal: `${host.name}:${host.port ?? 3260}`, target, lun };
    }
    case 'gluster': {
      const name = s.name ?? '';
      const slash = name.indexOf('/');
      return {
        driver: 'gluster',
        volume: name.slice(0, slash),
        path: name.slice(slash + 1),
        server: (s.hosts ?? []).map((h) => ({ type: 'inet', host: h.name, port: String(h.port ?? 24007) })),
      };
    }
    default:
      throw new TypeError(`disk ${disk.target.dev} has no usable source`);
  }
}

/** libvirt writes an iSCSI LUN as "<iqn>/<lun>"; the LUN defaults to 0. */
function splitIscsiName(name: string): [string, number] {
  const slash = name.lastIndexOf('/');
  if (slash < 0) return [name, 0];
  const lun = Number(name.slice(slash + 1));
  return Number.isInteger(lun) ? [name.slice(0, slash), lun] : [name, 0];
}

const NIC_DEVICE: Record<InterfaceDefinition['model'], string> = {
  virtio: 'virtio-net-pci',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
};

function nicArgs(iface: InterfaceDefinition, index: number, tapFd: number | undefined, bootindex: number | undefined, q35: boolean): string[] {
  const id = `hostnet${index}`;
  let netdev: string;
  if (iface.type === 'user') netdev = `user,id=${id}`;
  else {
    if (tapFd === undefined) throw new TypeError(`interface ${index} (${iface.type}) has no tap device`);
    netdev = `tap,id=${id},fd=${tapFd}`;
  }
  const props = [`${NIC_DEVICE[iface.model]}`, `netdev=${id}`, `id=${iface.alias ?? `net${index}`}`, `mac=${iface.mac}`];
  if (bootindex !== undefined) props.push(`bootindex=${bootindex}`);
  props.push(...pciProps(iface.address, q35));
  return ['-netdev', netdev, '-device', props.join(',')];
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
