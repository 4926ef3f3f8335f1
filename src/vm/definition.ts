import type { XmlElement } from '../shared/xml.js';

/**
 * A domain definition: the subset of libvirt's domain XML that ferry reads and
 * acts on (docs/domain-xml.md). Elements ferry keeps but does not act on
 * (graphics, video, metadata, ...) ride along verbatim in `extras`.
 */
export interface DomainDefinition {
  /** <domain type=...>: 'kvm' uses KVM where it works, 'qemu' is always TCG. */
  type: 'kvm' | 'qemu';
  name: string;
  uuid: string;
  title?: string;
  description?: string;
  memoryKiB: number;
  currentMemoryKiB: number;
  vcpus: number;
  os: OsDefinition;
  cpu?: CpuDefinition;
  clockOffset?: 'utc' | 'localtime';
  onPoweroff: LifecycleAction;
  onReboot: LifecycleAction;
  onCrash: CrashAction;
  /** libvirt's on_lockfailure: what happens when the domain loses a disk lease it cannot take back (ferry's default: pause). */
  onLockFailure?: LockFailureAction;
  devices: DeviceDefinitions;
  /** Top-level elements kept verbatim (metadata, features, pm, seclabel, ...). */
  extras: XmlElement[];
}

export type LifecycleAction = 'destroy' | 'restart' | 'preserve' | 'rename-restart';
export type CrashAction = LifecycleAction | 'coredump-destroy' | 'coredump-restart';
export type LockFailureAction = 'poweroff' | 'restart' | 'pause' | 'ignore';

export interface OsDefinition {
  arch: 'x86_64';
  /** The machine type as defined; ferry stores the versioned name (pc-q35-10.0) so migrations keep it. */
  machine?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  boot: BootDevice[];
}

export type BootDevice = 'hd' | 'cdrom' | 'network' | 'fd';

export interface CpuDefinition {
  mode: 'host-passthrough' | 'host-model' | 'custom' | 'maximum';
  model?: string;
  fallback?: 'allow' | 'forbid';
  check?: string;
  migratable?: 'on' | 'off';
  topology?: { sockets: number; dies: number; cores: number; threads: number };
  features: Array<{ policy: 'require' | 'disable' | 'force' | 'optional' | 'forbid'; name: string }>;
}

export interface DeviceDefinitions {
  emulator?: string;
  disks: DiskDefinition[];
  interfaces: InterfaceDefinition[];
  serials: SerialDefinition[];
  consoles: ConsoleDefinition[];
  hostdevs: HostdevDefinition[];
  panics: PanicDefinition[];
  /** Device elements kept verbatim (graphics, video, input, controller, memballoon, rng, ...). */
  extras: XmlElement[];
}

export const DISK_CACHE_MODES = ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];
export const DISK_IO_MODES = ['threads', 'native', 'io_uring'] as const;
export type DiskIoMode = (typeof DISK_IO_MODES)[number];
export const DISK_FORMATS = ['raw', 'qcow2'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
export const DISK_BUSES = ['virtio', 'sata', 'scsi'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
export const NETWORK_DISK_PROTOCOLS = ['nbd', 'iscsi', 'gluster'] as const;
export type NetworkDiskProtocol = (typeof NETWORK_DISK_PROTOCOLS)[number];

export interface DiskDefinition {
  type: 'file' | 'block' | 'network' | 'volume';
  device: 'disk' | 'cdrom' | 'lun';
  format: DiskFormat;
  cache?: DiskCacheMode;
  io?: DiskIoMode;
  discard?: 'ignore' | 'unmap';
  source: DiskSource;
  target: { dev: string; bus: DiskBus };
  readonly: boolean;
  shareable: boolean;
  serial?: string;
  bootOrder?: number;
  /** <address>, kept as given (ferry lets QEMU place devices). */
  address?: XmlElement;
}

export interface DiskSource {
  /** type='file' */
  file?: string;
  /** type='block' */
  dev?: string;
  /** type='network' */
  protocol?: NetworkDiskProtocol;
  name?: string;
  hosts?: Array<{ name: string; port?: number; transport?: 'tcp' | 'unix'; socket?: string }>;
  /** type='volume' */
  pool?: string;
  volume?: string;
}

export const NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139'] as const;
export type NicModel = (typeof NIC_MODELS)[number];

export interface InterfaceDefinition {
  type: 'bridge' | 'network' | 'user';
  mac: string;
  model: NicModel;
  source: { bridge?: string; network?: string };
  /** <target dev=...>: the tap device's name; generated at start when absent. */
  targetDev?: string;
  bootOrder?: number;
  address?: XmlElement;
}

export interface SerialDefinition {
  type: 'pty' | 'file' | 'unix' | 'null';
  /** file: the output file; unix: the socket path. */
  sourcePath?: string;
  sourceMode?: 'bind' | 'connect';
  /** <log file=... append=...>: a copy of everything the guest writes. */
  logFile?: string;
  logAppend?: boolean;
  port: number;
}

export interface ConsoleDefinition {
  type: SerialDefinition['type'];
  targetType: 'serial';
  port: number;
}

export interface HostdevDefinition {
  mode: 'subsystem';
  type: 'pci' | 'usb' | 'mdev' | 'scsi';
  managed: boolean;
  /** pci: "0000:03:00.1"; usb: "vendor:product"; mdev: the mdev UUID; scsi: the host adapter and address. */
  address: string;
  /** mdev: model (vfio-pci, vfio-ccw, ...) */
  model?: string;
  /** The original element, so dumpxml gives it back unchanged. */
  element: XmlElement;
}

export interface PanicDefinition {
  model: 'isa' | 'pvpanic' | 'hyperv';
}

/** True when the disk can be written by the guest (and so needs a safe cache mode and a lease). */
export function isWritableDisk(disk: DiskDefinition): boolean {
  return !disk.readonly && disk.device !== 'cdrom';
}

/** A short human description of where a disk's data lives. */
export function describeDiskSource(disk: DiskDefinition): string {
  const s = disk.source;
  switch (disk.type) {
    case 'file':
      return s.file ?? '-';
    case 'block':
      return s.dev ?? '-';
    case 'volume':
      return `${s.pool ?? '?'}/${s.volume ?? '?'}`;
    case 'network': {
      const h = s.hosts?.[0];
      return `${s.protocol}://${h ? `${h.name}${h.port ? `:${h.port}` : ''}` : ''}/${s.name ?? ''}`;
    }
  }
}
