import type { XmlElement } from '../shared/xml.js';
import type { DeviceAddress } from './device-address.js';
import type { PlatformDefinition } from './platform.js';

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
  /** <features>, <clock> timers and <pm>. */
  platform: PlatformDefinition;
  devices: DeviceDefinitions;
  /** <metadata>, kept as written: the one part of a definition ferry never looks into. */
  metadata?: XmlElement;
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
  controllers: ControllerDefinition[];
  channels: ChannelDefinition[];
  inputs: InputDefinition[];
  graphics: GraphicsDefinition[];
  videos: VideoDefinition[];
  sounds: SoundDefinition[];
  audios: AudioDefinition[];
  redirdevs: RedirdevDefinition[];
  rngs: RngDefinition[];
  watchdogs: WatchdogDefinition[];
  /** <memballoon>: absent means libvirt's default (a virtio balloon); model 'none' means none. */
  memballoon?: MemballoonDefinition;
}

/** What every device has: where it sits (assigned at define, kept) and its QEMU id (live XML only). */
export interface Placed {
  address?: DeviceAddress;
  /** The device's QEMU id, shown as <alias name=...> in the live XML. */
  alias?: string;
}

/** A character device's host side: serial, console, channel, redirdev, rng egd. */
export interface CharSource {
  type: 'pty' | 'file' | 'unix' | 'tcp' | 'udp' | 'null' | 'spicevmc' | 'stdio';
  /** file, unix, pty (the pty QEMU made, live XML only) */
  sourcePath?: string;
  /** unix, tcp: who listens */
  sourceMode?: 'bind' | 'connect';
  /** file: <source append='on'> keeps what the file had */
  sourceAppend?: boolean;
  /** tcp, udp */
  host?: string;
  service?: string;
  /** tcp: <protocol type='raw'|'telnet'> */
  protocol?: 'raw' | 'telnet';
  /** tcp/unix client: <reconnect enabled='yes' timeout=N> seconds */
  reconnect?: number;
  /** <log file=... append=...>: a copy of everything the guest writes. */
  logFile?: string;
  logAppend?: boolean;
}

export interface ControllerDefinition extends Placed {
  type: 'pci' | 'usb' | 'sata' | 'ide' | 'scsi' | 'virtio-serial' | 'fdc';
  index: number;
  /**
   * pci: pci-root, pcie-root, pcie-root-port, pcie-to-pci-bridge, pci-bridge;
   * usb: qemu-xhci, nec-xhci, ich9-ehci1, ich9-uhci1..3, piix3-uhci, none;
   * scsi: virtio-scsi; sata/ide/fdc: built into the machine.
   */
  model?: string;
  /** usb: <controller ports=N>; virtio-serial: ports= */
  ports?: number;
  /** virtio-serial: vectors= */
  vectors?: number;
  /** usb companion controllers: <master startport=N> */
  masterStartport?: number;
  /** pci controllers: <target chassis= port= busNr=> and <model name=> (QEMU's device) */
  chassis?: number;
  port?: number;
  busNr?: number;
  hotplug?: boolean;
  modelName?: string;
  /** scsi/virtio-serial <driver queues= iothread= ...> */
  queues?: number;
  iothread?: number;
}

export interface ChannelDefinition extends CharSource, Placed {
  /** virtio: a virtio-serial port with a name (org.qemu.guest_agent.0, com.redhat.spice.0). */
  targetType: 'virtio';
  targetName?: string;
  /** The guest agent's port state in the live XML: connected or disconnected. */
  targetState?: 'connected' | 'disconnected';
}

export interface InputDefinition extends Placed {
  type: 'tablet' | 'mouse' | 'keyboard';
  bus: 'usb' | 'ps2' | 'virtio';
}

export interface GraphicsListen {
  type: 'address' | 'network' | 'none' | 'socket';
  address?: string;
  network?: string;
  socket?: string;
}

export interface GraphicsDefinition {
  type: 'vnc' | 'spice';
  /** -1 or absent with autoport: chosen at start (live XML shows it). */
  port?: number;
  tlsPort?: number;
  autoport: boolean;
  /** VNC's websocket port (-1: chosen at start). */
  websocket?: number;
  listens: GraphicsListen[];
  /** A secret: dumpxml shows it only with --security-info. */
  passwd?: string;
  passwdValidTo?: string;
  keymap?: string;
  sharePolicy?: 'allow-exclusive' | 'force-shared' | 'ignore';
  defaultMode?: 'any' | 'secure' | 'insecure';
  /** SPICE's sub-elements as written: image, jpeg, zlib, playback, streaming, clipboard, mouse, filetransfer, gl. */
  spice?: Record<string, string>;
}

export const VIDEO_MODELS = ['virtio', 'qxl', 'vga', 'bochs', 'cirrus', 'ramfb', 'none'] as const;
export interface VideoDefinition extends Placed {
  model: (typeof VIDEO_MODELS)[number];
  /** KiB, as libvirt writes them */
  vram?: number;
  ram?: number;
  vgamem?: number;
  vram64?: number;
  heads?: number;
  primary?: boolean;
}

export interface SoundDefinition extends Placed {
  model: 'ich9' | 'ich6' | 'ac97' | 'es1370' | 'sb16';
  codecs: Array<'duplex' | 'micro' | 'output'>;
  /** <audio id=N/>: the <audio> backend it plays to. */
  audioId?: number;
}

export interface AudioDefinition {
  id: number;
  type: 'none' | 'spice';
}

export interface RedirdevDefinition extends CharSource, Placed {
  bus: 'usb';
}

export interface RngDefinition extends Placed {
  model: 'virtio';
  backend: { model: 'random'; path: string } | ({ model: 'egd' } & CharSource) | { model: 'builtin' };
  /** <rate bytes= period=>: at most `bytes` per `period` ms */
  rateBytes?: number;
  ratePeriod?: number;
}

export const WATCHDOG_ACTIONS = ['reset', 'shutdown', 'poweroff', 'pause', 'none', 'inject-nmi'] as const;
export interface WatchdogDefinition extends Placed {
  model: 'i6300esb' | 'itco' | 'ib700';
  action: (typeof WATCHDOG_ACTIONS)[number];
}

export interface MemballoonDefinition extends Placed {
  model: 'virtio' | 'none';
  autodeflate?: boolean;
  freePageReporting?: boolean;
  /** <stats period=N>: seconds between guest memory statistics (dommemstat). */
  statsPeriod?: number;
}

export const DISK_CACHE_MODES = ['default', 'none', 'writethrough', 'writeback', 'directsync', 'unsafe'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];
export const DISK_IO_MODES = ['threads', 'native', 'io_uring'] as const;
export type DiskIoMode = (typeof DISK_IO_MODES)[number];
export const DISK_FORMATS = ['raw', 'qcow2'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
export const NETWORK_DISK_PROTOCOLS = ['nbd', 'iscsi', 'gluster'] as const;
export type NetworkDiskProtocol = (typeof NETWORK_DISK_PROTOCOLS)[number];

export interface DiskDefinition extends Placed {
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

export interface InterfaceDefinition extends Placed {
  type: 'bridge' | 'network' | 'user';
  mac: string;
  model: NicModel;
  source: { bridge?: string; network?: string };
  /** <target dev=...>: the tap device's name; generated at start when absent. */
  targetDev?: string;
  bootOrder?: number;
}

export const SERIAL_TARGET_TYPES = ['isa-serial', 'pci-serial', 'usb-serial'] as const;
export interface SerialDefinition extends CharSource, Placed {
  port: number;
  /** <target type=...>: the guest's UART (isa-serial, as libvirt's default on x86). */
  targetType: (typeof SERIAL_TARGET_TYPES)[number];
}

export interface ConsoleDefinition extends CharSource, Placed {
  /** 'serial': the console is serial port `port` (libvirt shows it twice); 'virtio': hvc`port` on virtio-serial. */
  targetType: 'serial' | 'virtio';
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

export interface PanicDefinition extends Placed {
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
