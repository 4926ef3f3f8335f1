import type { ClockOffset } from './clock-offset.js';
import type { AudioStream } from './devices/audio.js';
import type { SeclabelDefinition } from './seclabel.js';
import type { SysinfoDefinition } from './sysinfo.js';
import type { IothreadMapping } from './devices/iothread-mapping.js';
import type { CryptoDefinition } from './devices/crypto.js';
import type { QemuCommandline } from './qemu-namespace.js';
import type { XmlElement } from '../shared/xml.js';
import type { DeviceAddress } from './device-address.js';
import type { PlatformDefinition } from './platform.js';
import type { MemoryLayout } from './memory-layout.js';
import type { MemoryDeviceDefinition } from './devices/memory.js';
import type { FirmwareDefinition } from './firmware.js';
import type { IothreadSettings } from './iothreads.js';
import type { PstoreDefinition } from './devices/pstore.js';
import type { VsockDefinition } from './devices/vsock.js';
import type { LeaseDefinition } from './devices/lease.js';
import type { ShmemDefinition } from './devices/shmem.js';
import type { DiskBus, DiskCacheMode, DiskIoMode } from '../shared/disk-modes.js';

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
  /** <genid>: the VM generation ID (QEMU's vmgenid device); kept across migration. */
  genid?: string;
  title?: string;
  description?: string;
  memoryKiB: number;
  currentMemoryKiB: number;
  /** <vcpu>: the maximum number of vCPUs. */
  vcpus: number;
  /** <vcpu current=N>: how many of them are online (absent: all). */
  vcpuCurrent?: number;
  /** <vcpu cpuset=...>: the host CPUs the vCPUs and the emulator run on unless <cputune> pins them (canonical: 0-1,3). */
  vcpuCpuset?: string;
  /** <vcpus>: each vCPU's state, kept once written or once a vCPU was hot-plugged (libvirt's individual vCPUs). */
  vcpuList?: VcpuState[];
  /** <cputune>: vcpupin and emulatorpin. */
  cputune?: CputuneDefinition;
  /** <blkiotune>: applied through the domain's cgroup (src/host/cgroup-tuning.ts). */
  blkiotune?: BlkiotuneDefinition;
  /** <memtune>: applied through the domain's memory cgroup (src/host/cgroup-tuning.ts). */
  memtune?: MemtuneDefinition;
  os: OsDefinition;
  cpu?: CpuDefinition;
  clockOffset?: 'utc' | 'localtime';
  /** <clock offset='variable'|'absolute'|'timezone'> with its attributes (src/vm/clock-offset.ts); absent: clockOffset says it. */
  clock?: ClockOffset;
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
  /** <iothreads>N</iothreads>: QEMU iothread objects iothread1..N that disks and SCSI controllers can use. */
  iothreads?: number;
  /** <iothreadids>: the iothreads' ids (QEMU's iothread<ID>) when written; absent: 1..iothreads (src/vm/iothreads.ts). */
  iothreadIds?: number[];
  /** <iothread thread_pool_min/max> and <poll>, by iothread id (only those that set any). */
  iothreadSettings?: Record<number, IothreadSettings>;
  /** <defaultiothread thread_pool_min/max>: the main loop's worker pool. */
  defaultIothread?: IothreadSettings;
  /** <throttlegroups>: named I/O limits (a QEMU throttle-group each) that disks' <throttlefilters> stack. */
  throttleGroups?: Array<DiskIotune & { group: string }>;
  /** <cpu><numa>, <numatune>, <memoryBacking>, <maxMemory> (src/vm/memory-layout.ts). */
  memoryLayout?: MemoryLayout;
  /** <qemu:commandline>: extra QEMU arguments and environment (src/vm/qemu-namespace.ts). */
  qemuCommandline?: QemuCommandline;
  /** <seclabel>: the DAC (Unix ownership) and 'none' labels ferry honours (src/vm/seclabel.ts). */
  seclabels?: SeclabelDefinition[];
  /** <memory dumpCore=>: whether guest RAM goes into a QEMU core dump (QEMU's dump-guest-core; absent: off). */
  dumpCore?: 'on' | 'off';
  /** <sysinfo type='smbios'|'fwcfg'>: SMBIOS strings and fw_cfg entries (src/vm/sysinfo.ts). */
  sysinfo?: SysinfoDefinition;
  /** <vcpu placement='auto'>: the vCPUs and the emulator run on the CPUs of the nodes ferry advises at start (src/host/numa-placement.ts). */
  vcpuPlacement?: 'auto';
  /**
   * A running domain's automatic NUMA placement advice (libvirt asks numad; ferry computes it):
   * the host nodes of <numatune><memory placement='auto'> and the host CPUs of <vcpu placement='auto'>.
   * Set by the launcher on the live definition only; shown in the live XML as nodeset=/cpuset= beside placement='auto'.
   */
  numaAdvice?: { nodeset?: string; cpuset?: string };
}

export type LifecycleAction = 'destroy' | 'restart' | 'preserve' | 'rename-restart';
export type CrashAction = LifecycleAction | 'coredump-destroy' | 'coredump-restart';
export type LockFailureAction = 'poweroff' | 'restart' | 'pause' | 'ignore';

export interface OsDefinition {
  /** <type arch=>: x86_64, or i686 (a 32-bit guest: qemu-system-i386 unless <emulator> says otherwise). */
  arch: 'x86_64' | 'i686';
  /** The machine type as defined; ferry stores the versioned name (pc-q35-10.0) so migrations keep it. */
  machine?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  boot: BootDevice[];
  /** <bootmenu enable= timeout=>: the firmware's boot menu (timeout in ms). */
  bootMenu?: { enable: boolean; timeout?: number };
  /** <bios rebootTimeout=>: ms before the firmware retries a failed boot; -1 never. */
  rebootTimeout?: number;
  /** <acpi><table type=>path</table></acpi>: extra ACPI tables the guest gets (QEMU's -acpitable). */
  acpiTables?: Array<{ type: 'raw' | 'slic' | 'msdm'; path: string }>;
  /** <os firmware=...>, <firmware>, <loader>, <nvram>: UEFI and its variable store (src/vm/firmware.ts). */
  firmware?: FirmwareDefinition;
  /** <smbios mode=>: 'sysinfo' gives the guest <sysinfo type='smbios'>'s strings; 'emulate' (or absent) QEMU's own (src/vm/sysinfo.ts). */
  smbiosMode?: 'sysinfo' | 'emulate';
}

export type BootDevice = 'hd' | 'cdrom' | 'network' | 'fd';

export interface CpuDefinition {
  mode: 'host-passthrough' | 'host-model' | 'custom' | 'maximum';
  /** <cpu match=...>: how the model is to be taken (ferry runs the model as given for all three; docs/domain-xml.md). */
  match?: 'exact' | 'minimum' | 'strict';
  model?: string;
  /** <model vendor_id=...>: the CPUID vendor string the guest sees (QEMU's vendor=). */
  vendorId?: string;
  /** <cache mode= level=>: passthrough (host's cache info), emulate (level 3: an emulated L3) or disable. */
  cache?: { mode: 'passthrough' | 'emulate' | 'disable'; level?: number };
  fallback?: 'allow' | 'forbid';
  check?: string;
  migratable?: 'on' | 'off';
  topology?: { sockets: number; dies: number; clusters?: number; cores: number; threads: number };
  features: Array<{ policy: 'require' | 'disable' | 'force' | 'optional' | 'forbid'; name: string }>;
  /** <maxphysaddr>: the guest's physical address bits: the host's (passthrough, capped at limit) or a given number (emulate). */
  maxphysaddr?: { mode: 'passthrough' | 'emulate'; bits?: number; limit?: number };
}

/** One vCPU of <vcpus>: online or not, hot-pluggable or not (then it is on -smp), and the order it came online in. */
export interface VcpuState {
  id: number;
  enabled: boolean;
  hotpluggable: boolean;
  order?: number;
}

export interface CputuneDefinition {
  /** <vcpupin vcpu= cpuset=>: canonical cpusets by vCPU id. */
  vcpupins: Array<{ vcpu: number; cpuset: string }>;
  /** <emulatorpin cpuset=>: QEMU's threads other than the vCPUs. */
  emulatorpin?: string;
  /** <iothreadpin iothread= cpuset=>: canonical cpusets by iothread id. */
  iothreadpins?: Array<{ iothread: number; cpuset: string }>;
  /** <shares>: the domain cgroup's CPU weight (cpu.shares on cgroup v1, cpu.weight on v2); 0 is kept (refused at start). */
  shares?: number;
  /** <period>/<quota> (vcpu), <global_*>, <emulator_*>, <iothread_*>: CFS bandwidth of each thread group's cgroup (src/vm/cpu-tuning.ts). */
  bandwidth?: Partial<Record<'vcpu' | 'global' | 'emulator' | 'iothread', CpuBandwidth>>;
  /** <vcpusched vcpus= scheduler= priority=>: canonical vCPU lists. */
  vcpuscheds?: Array<ThreadScheduler & { ids: string }>;
  /** <iothreadsched iothreads= ...>: canonical iothread id lists. */
  iothreadscheds?: Array<ThreadScheduler & { ids: string }>;
  /** <emulatorsched scheduler= priority=>. */
  emulatorsched?: ThreadScheduler;
}

/** A CFS bandwidth limit in microseconds (quota < 0: unlimited). */
export interface CpuBandwidth {
  period?: number;
  quota?: number;
}

/** A thread's scheduler policy (sched_setscheduler); priority for fifo and rr only. */
export interface ThreadScheduler {
  policy: 'fifo' | 'rr' | 'batch' | 'idle';
  priority?: number;
}

/** <blkiotune>: I/O weight and per-device limits of the domain's blkio/io cgroup. */
export interface BlkiotuneDefinition {
  weight?: number;
  devices: BlkiotuneDevice[];
}

/** <blkiotune><device>: a host block device (its path) with a weight and throttles (0: unset). */
export interface BlkiotuneDevice {
  path: string;
  weight?: number;
  readBytesSec?: number;
  writeBytesSec?: number;
  readIopsSec?: number;
  writeIopsSec?: number;
}

/** <memtune>: limits in KiB; absent: unlimited; 0 is kept (libvirt shows it) and applied as unlimited. */
export interface MemtuneDefinition {
  hardLimitKiB?: number;
  softLimitKiB?: number;
  swapHardLimitKiB?: number;
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
  /** <memory model=dimm|nvdimm|virtio-mem|virtio-pmem>: absent when there are none. */
  memories?: MemoryDeviceDefinition[];
  /** <redirfilter>: which USB devices the redirdevs accept (usb-redir's filter property); absent means all. */
  redirfilter?: UsbRedirFilterRule[];
  /** <filesystem type='mount'>: host directories exported over virtio-9p or usb-mtp; absent when there are none. */
  filesystems?: FilesystemDefinition[];
  /** <tpm>: at most one (x86 has one TPM interface). */
  tpm?: TpmDefinition;
  /** <iommu model=intel|virtio>: at most one. */
  iommu?: IommuDefinition;
  /** <hub type='usb'>: USB hubs (usb-hub), each on a USB port with 8 ports of its own. */
  hubs?: HubDefinition[];
  /** <crypto model='virtio' type='qemu'>: virtio-crypto-pci with QEMU's builtin backend (src/vm/devices/crypto.ts). */
  cryptos?: CryptoDefinition[];
  /** <pstore backend='acpi-erst'>: at most one. */
  pstore?: PstoreDefinition;
  /** <vsock model='virtio'>: at most one (vhost-vsock-pci, src/vm/devices/vsock.ts). */
  vsock?: VsockDefinition;
  /** <parallel>: ISA parallel ports (QEMU's isa-parallel). */
  parallels?: ParallelDefinition[];
  /** <smartcard mode='passthrough'|'host-certificates'>: a smartcard on a CCID controller (usb-ccid), its commands over a character device or emulated from an NSS database. */
  smartcards?: SmartcardDefinition[];
  /** <lease>: locks held in ferry's lock manager while the domain runs (src/vm/devices/lease.ts); absent when there are none. */
  leases?: LeaseDefinition[];
  /** <shmem>: inter-VM shared memory (ivshmem-plain on /dev/shm/NAME, ivshmem-doorbell with a server); absent when there are none. */
  shmems?: ShmemDefinition[];
}

/** What every device has: where it sits (assigned at define, kept) and its QEMU id (live XML only). */
export interface Placed {
  address?: DeviceAddress;
  /** <acpi index=N>: the device's ACPI index (QEMU's acpi-index; a guest names the NIC eno<N>). Disks, NICs, video only. */
  acpiIndex?: number;
  /** The device's QEMU id, shown as <alias name=...> in the live XML. */
  alias?: string;
}

/** A character device's host side: serial, console, channel, redirdev, rng egd. */
export interface CharSource {
  /**
   * vc: a text console on the domain's graphical display (VNC/SPICE, Ctrl+Alt+2...); pipe: QEMU opens
   * <path>.in and <path>.out (FIFOs made beforehand), or <path> itself; stdio: QEMU's stdout, the domain log.
   */
  type: 'pty' | 'file' | 'unix' | 'tcp' | 'udp' | 'null' | 'spicevmc' | 'stdio' | 'spiceport' | 'qemu-vdagent' | 'dbus' | 'vc' | 'pipe';
  /** qemu-vdagent <source><clipboard copypaste=>: QEMU's own agent shares the clipboard (clipboard=). */
  vdagentClipboard?: boolean;
  /** qemu-vdagent <source><mouse mode=>: 'client' sends absolute positions through the agent (mouse=on). */
  vdagentMouse?: 'client' | 'server';
  /** spiceport / dbus: <source channel=...>, the SPICE port's or D-Bus display channel's name a client opens (org.qemu.console.serial.0) */
  channel?: string;
  /** file, unix, pipe, pty (the pty QEMU made, live XML only) */
  sourcePath?: string;
  /** unix, tcp: who listens */
  sourceMode?: 'bind' | 'connect';
  /** file: <source append='on'> keeps what the file had */
  sourceAppend?: boolean;
  /** tcp, udp */
  host?: string;
  service?: string;
  /** <source tls='no'>: never TLS for this device (ferry has no chardev TLS; kept as written) */
  tlsOff?: boolean;
  /** udp: the local end (<source mode='bind'>); host/service are the remote end */
  bindHost?: string;
  bindService?: string;
  /** tcp: <protocol type='raw'|'telnet'> */
  protocol?: 'raw' | 'telnet';
  /** tcp/unix client: <reconnect enabled='yes' timeout=N> seconds; 0: <reconnect enabled='no'> */
  reconnect?: number;
  /** <log file=... append=...>: a copy of everything the guest writes. */
  logFile?: string;
  logAppend?: boolean;
}

export interface ControllerDefinition extends Placed {
  type: 'pci' | 'usb' | 'sata' | 'ide' | 'scsi' | 'virtio-serial' | 'fdc' | 'ccid';
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
  /** pci-bridge: <target chassisNr=> */
  chassisNr?: number;
  /** pci-bridge / pcie-root-port: <target memReserve=> KiB of memory window the firmware reserves for hot-plugged devices behind it (QEMU's mem-reserve, in bytes). */
  memReserveKiB?: number;
  hotplug?: boolean;
  modelName?: string;
  /** pci-expander-bus / pcie-expander-bus: <target><node>N</node></target>, the guest NUMA node of the bus. */
  numaNode?: number;
  /** virtio-scsi / virtio-serial: <driver iommu= ats= packed= page_per_vq=> */
  virtio?: VirtioOptions;
  /** pci-root / pcie-root: <pcihole64> in KiB (the host bridge's pci-hole64-size). */
  pcihole64KiB?: number;
  /** scsi/virtio-serial <driver queues= iothread= ...> */
  queues?: number;
  iothread?: number;
  /** virtio-scsi <driver><iothreads>: the iothreads that serve its queues (src/vm/devices/iothread-mapping.ts). */
  iothreadMapping?: IothreadMapping[];
  /** virtio-scsi <driver ioeventfd= cmd_per_lun= max_sectors=>. */
  ioeventfd?: boolean;
  cmdPerLun?: number;
  maxSectors?: number;
}

export interface ChannelDefinition extends CharSource, Placed {
  /**
   * virtio: a virtio-serial port with a name (org.qemu.guest_agent.0, com.redhat.spice.0);
   * guestfwd: TCP connections of the guest to targetAddress:targetPort reach this host side
   * (a user-mode network of its own, -netdev user,guestfwd=, as libvirt builds it).
   */
  targetType: 'virtio' | 'guestfwd';
  targetName?: string;
  /** guestfwd: the IPv4 address and port the guest connects to. */
  targetAddress?: string;
  targetPort?: number;
  /** The guest agent's port state in the live XML: connected or disconnected. */
  targetState?: 'connected' | 'disconnected';
}

export interface InputDefinition extends Placed {
  type: 'tablet' | 'mouse' | 'keyboard';
  bus: 'usb' | 'ps2' | 'virtio';
  /** <driver iommu ats packed page_per_vq> of a virtio input. */
  virtio?: VirtioOptions;
}

export interface GraphicsListen {
  type: 'address' | 'network' | 'none' | 'socket';
  address?: string;
  network?: string;
  socket?: string;
  /**
   * The address or socket was chosen by this host at start (libvirt's
   * fromConfig/autoGenerated): ferryd.conf's vnc_listen/spice_listen for a
   * <listen type='address'/> without one, the network's address, or a socket
   * in the run directory. Never in XML; a migration drops it so the
   * destination chooses its own.
   */
  generated?: boolean;
}

export interface GraphicsDefinition {
  type: 'vnc' | 'spice' | 'dbus';
  /**
   * D-Bus display: the bus QEMU exports the display on (address='unix:path=...'). Absent and not p2p: ferryd
   * runs a private dbus-daemon for the domain and the live definition has its address (dbusAddressGenerated).
   */
  dbusAddress?: string;
  /** The D-Bus address is the bus ferryd started here (never in inactive XML; a migration drops it). */
  dbusAddressGenerated?: boolean;
  /** D-Bus display p2p='yes': no bus; clients are handed to QEMU over QMP (add_client with a descriptor). */
  p2p?: boolean;
  /** D-Bus display <gl enable='no'/> written (OpenGL is refused: it needs a host GPU render node). */
  glOff?: boolean;
  /** D-Bus display <audio id=N/>: the <audio type='dbus'> backend it exports (QEMU's audiodev=). */
  audioId?: number;
  /** -1 or absent with autoport: chosen at start (live XML shows it). */
  port?: number;
  /** SPICE's TLS port (-1 or absent with autoport: chosen at start when the host has spice_tls and a channel may use TLS). */
  tlsPort?: number;
  /** The TLS port was chosen at start for tlsPort='-1' without autoport (never in XML; a migration sends -1 again). */
  tlsPortGenerated?: boolean;
  autoport: boolean;
  /** VNC's websocket port (-1: chosen at start). */
  websocket?: number;
  /** The websocket port was chosen at start for websocket='-1' (never in XML; a migration sends -1 again). */
  websocketGenerated?: boolean;
  listens: GraphicsListen[];
  /** A secret: dumpxml shows it only with --security-info. */
  passwd?: string;
  passwdValidTo?: string;
  keymap?: string;
  sharePolicy?: 'allow-exclusive' | 'force-shared' | 'ignore';
  /** VNC powerControl='yes': clients may shut down, reboot or reset the guest (RFB's XVP extension; QEMU's power-control=on). */
  powerControl?: boolean;
  defaultMode?: 'any' | 'secure' | 'insecure';
  /** What a password change does to connected clients (SPICE: keep, disconnect, fail; VNC: keep). */
  connected?: 'keep' | 'disconnect' | 'fail';
  /** SPICE's sub-elements as written: image, jpeg, zlib, playback, streaming, clipboard, mouse, filetransfer, gl. */
  spice?: Record<string, string>;
  /** SPICE's <channel name= mode=>: which channels must (secure) or must not (insecure) use the TLS port. */
  channels?: Partial<Record<SpiceChannelName, SpiceChannelMode>>;
}

/** libvirt's SPICE channel names, in its order (the order QEMU's tls-channel=/plaintext-channel= options get). */
export const SPICE_CHANNELS = ['main', 'display', 'inputs', 'cursor', 'playback', 'record', 'smartcard', 'usbredir'] as const;
export type SpiceChannelName = (typeof SPICE_CHANNELS)[number];
export type SpiceChannelMode = 'secure' | 'insecure' | 'any';

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
  /** <model><resolution x= y=>: the display's preferred mode (qxl and virtio-gpu's xres=/yres=). */
  resolution?: { x: number; y: number };
  /** virtio <model blob='off'>: no blob resources (QEMU's blob=off; blob='on' needs the host's udmabuf and is refused). */
  blob?: false;
}

export interface SoundDefinition extends Placed {
  /** pcspk: the machine's PC speaker (no device of its own: -machine pcspk-audiodev=). */
  model: 'ich9' | 'ich6' | 'ac97' | 'es1370' | 'sb16' | 'pcspk' | 'usb' | 'virtio';
  /** virtio: <sound streams=N> (virtio-sound-pci's streams=), and <driver> virtio options. */
  streams?: number;
  virtio?: VirtioOptions;
  /** usb: <sound multichannel=> (usb-audio's multi=). */
  multichannel?: boolean;
  codecs: Array<'duplex' | 'micro' | 'output'>;
  /** <audio id=N/>: the <audio> backend it plays to. */
  audioId?: number;
}

export interface AudioDefinition {
  id: number;
  /** none, spice, or file (QEMU's wav backend writing `path`). */
  type: 'none' | 'spice' | 'file' | 'dbus';
  /** timerPeriod (µs) */
  timerPeriod?: number;
  /** type='file': the WAV file QEMU writes (relative: to QEMU's working directory, as libvirt). */
  path?: string;
  input?: AudioStream;
  output?: AudioStream;
}

export interface RedirdevDefinition extends CharSource, Placed {
  bus: 'usb';
  /** <boot order=N>: usb-redir's bootindex (the firmware boots from the redirected device). */
  bootOrder?: number;
}

/** One <usbdev> of <redirfilter>: undefined fields match any device. */
export interface UsbRedirFilterRule {
  class?: number;
  vendor?: number;
  product?: number;
  /** bcdDevice: "1.10" is 0x0110. */
  version?: number;
  allow: boolean;
}

export interface RngDefinition extends Placed {
  model: 'virtio';
  backend: { model: 'random'; path: string } | ({ model: 'egd' } & CharSource) | { model: 'builtin' };
  /** <rate bytes= period=>: at most `bytes` per `period` ms */
  rateBytes?: number;
  ratePeriod?: number;
  /** <driver iommu ats packed page_per_vq>. */
  virtio?: VirtioOptions;
}

export const WATCHDOG_ACTIONS = ['reset', 'shutdown', 'poweroff', 'pause', 'none', 'inject-nmi', 'dump'] as const;
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
  /** <driver iommu ats packed page_per_vq>. */
  virtio?: VirtioOptions;
}

export const DISK_FORMATS = ['raw', 'qcow2'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
export const NETWORK_DISK_PROTOCOLS = ['nbd', 'iscsi', 'gluster', 'rbd', 'http', 'https', 'ftp', 'ftps', 'ssh'] as const;
/** The protocols QEMU's curl driver reads (read-only). */
export const CURL_DISK_PROTOCOLS = ['http', 'https', 'ftp', 'ftps'] as const;
export type NetworkDiskProtocol = (typeof NETWORK_DISK_PROTOCOLS)[number];

export interface DiskDefinition extends Placed {
  type: 'file' | 'block' | 'network' | 'volume';
  device: 'disk' | 'cdrom' | 'lun' | 'floppy';
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
  /** <driver error_policy=>: what a write error does (QEMU's werror; 'enospace' is enospc). */
  errorPolicy?: DiskErrorPolicy;
  /** <driver rerror_policy=>: what a read error does (QEMU's rerror). */
  rerrorPolicy?: Exclude<DiskErrorPolicy, 'enospace'>;
  /** <driver iothread=N>: the disk's I/O runs in the domain's iothread N (<iothreads>). */
  iothread?: number;
  /** <driver queues=N>: virtio-blk num-queues. */
  queues?: number;
  /** <driver queue_size=N>: virtio-blk queue-size. */
  queueSize?: number;
  /** <driver iommu ats packed page_per_vq> of a virtio disk. */
  virtio?: VirtioOptions;
  detectZeroes?: 'off' | 'on' | 'unmap';
  /** <driver copy_on_read='on'>: a copy-on-read filter node over the image. */
  copyOnRead?: boolean;
  /** virtio <driver><iothreads>: the iothreads that serve its queues (src/vm/devices/iothread-mapping.ts). */
  iothreadMapping?: IothreadMapping[];
  /** virtio-blk's ioeventfd= and event_idx= (<driver ioeventfd= event_idx=>, on/off). */
  ioeventfd?: boolean;
  eventIdx?: boolean;
  /** <wwn>: the World Wide Name a SCSI/IDE/SATA disk reports (16 hex digits). */
  wwn?: string;
  /** <target tray=...>: a cdrom's or floppy's tray; 'open' starts with the medium ejected. */
  tray?: 'open' | 'closed';
  /** <target removable=...>: a USB disk's removable bit. */
  removable?: boolean;
  /** <target rotation_rate=N>: 1 for an SSD, else RPM (IDE/SATA/SCSI). */
  rotationRate?: number;
  /** <blockio>: block sizes the guest sees. */
  blockio?: { logicalBlockSize?: number; physicalBlockSize?: number; discardGranularity?: number };
  /** <iotune>: I/O limits, a QEMU throttle group (its group_name's, shared, or the disk's own) over the disk. */
  iotune?: DiskIotune;
  /** <backingStore>: the explicit chain under the source; null is <backingStore/> (no backing). */
  backingStore?: DiskBackingStore | null;
  /** <vendor>: a SCSI disk's vendor id (8 characters). */
  vendor?: string;
  /** <product>: a SCSI disk's product id (16 characters) or an IDE/SATA disk's model. */
  product?: string;
  /**
   * <source startupPolicy=>: what a start does when the source is missing:
   * 'mandatory' fails, 'requisite' (cdrom/floppy) and 'optional' start without
   * it (an empty drive; an optional disk is left out of the running domain).
   */
  startupPolicy?: 'mandatory' | 'requisite' | 'optional';
  /** <auth username=...><secret .../></auth> of a network source (ceph, iscsi, curl): the credentials, from the secret store at start. */
  auth?: DiskAuth;
  /** <encryption format='luks'>: the LUKS passphrase of the image, from the secret store at start. */
  encryption?: DiskEncryption;
  /** <cookies> of an http(s) source: sent with every request (QEMU gets them as a secret object). */
  cookies?: Array<{ name: string; value: string }>;
  /** <geometry cyls heads secs trans>: the BIOS geometry the drive reports. */
  geometry?: { cyls: number; heads: number; secs: number; trans?: 'none' | 'lba' | 'auto' };
  /** <driver><metadata_cache><max_size>: the qcow2 metadata cache, bytes (cache-size). */
  metadataCacheBytes?: number;
  /** <driver discard_no_unref='on'>: qcow2 keeps discarded clusters allocated (discard-no-unref). */
  discardNoUnref?: boolean;
  /** <throttlefilters><throttlefilter group=>: throttle filter nodes over the disk, one per named <throttlegroup>, in order. */
  throttleFilters?: string[];
  /**
   * <transient/> (shareBacking='yes': <transient shareBacking='yes'/>): the disk runs on a qcow2
   * overlay made at each start over the image and discarded at stop, so the image is never written
   * (src/host/transient-disks.ts). shareBacking: other domains may use the same image meanwhile.
   */
  transient?: { shareBacking?: boolean };
}

/**
 * <backingStore>: one layer of a disk's explicit image chain. `backingStore`
 * null is <backingStore/> (the chain ends: no backing file is opened);
 * undefined leaves the layer's own backing to its image header.
 */
export interface DiskBackingStore {
  type: 'file' | 'block' | 'network';
  format: DiskFormat;
  /** <format><metadata_cache><max_size>: this layer's qcow2 cache-size, bytes. */
  metadataCacheBytes?: number;
  source: DiskSource;
  /** <source><cookies> of an http(s) layer: sent with its requests (QEMU gets them as a secret object). */
  cookies?: Array<{ name: string; value: string }>;
  backingStore?: DiskBackingStore | null;
}

/** <iotune>: limits by libvirt's element name (total_bytes_sec, ...), and the group they belong to. */
export interface DiskIotune {
  limits: Partial<Record<import('./devices/disk-iotune.js').IotuneLimit, number>>;
  group?: string;
}

export const DISK_ERROR_POLICIES = ['stop', 'report', 'ignore', 'enospace'] as const;
export type DiskErrorPolicy = (typeof DISK_ERROR_POLICIES)[number];

/** How a domain names a secret (<secret type= uuid=|usage=>): looked up in the host's secret store at start. */
export interface SecretUse {
  type: 'ceph' | 'iscsi' | 'passphrase' | 'volume';
  uuid?: string;
  usage?: string;
}

export interface DiskAuth {
  username: string;
  secret: SecretUse;
  /** Written in <disk> (libvirt's old place) rather than in <source>: rendered back where it was. */
  inDisk?: true;
}

export interface DiskEncryption {
  format: 'luks';
  engine?: 'qemu';
  secret: SecretUse;
  inDisk?: true;
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
  /** nbd <reconnect delay=N>: seconds QEMU keeps retrying a lost server before failing I/O. */
  reconnectDelay?: number;
  /** http/https query= (the URL's query string). */
  query?: string;
  /** curl <timeout seconds=N>: seconds a request may take. */
  timeoutSeconds?: number;
  /** curl <readahead size=N>: bytes read ahead of each request. */
  readahead?: number;
  /** https/ftps <ssl verify='no'>: false when the server's certificate is not checked. */
  sslVerify?: boolean;
  /** nbd tls='yes'|'no': the connection is TLS with this host's client certificate (nbd_tls_x509_cert_dir), or never. */
  tls?: boolean;
  /** nbd tlsHostname=: the name the server's certificate must carry (default: the host connected to). */
  tlsHostname?: string;
  /** ssh <knownHosts path=>: the known_hosts file (on the host) holding the server's key; checked at each start. */
  knownHosts?: string;
  /** ssh <identity username= agentsock=>: the login, and the ssh-agent socket QEMU authenticates through. */
  identity?: { username?: string; agentsock?: string };
  /** type='volume' */
  pool?: string;
  volume?: string;
}

export const NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3', 'usb-net'] as const;
export type NicModel = (typeof NIC_MODELS)[number];
/** libvirt's model for an x86 QEMU <interface> written without <model> (qemuDomainDefaultNetModel). */
export const DEFAULT_NIC_MODEL: NicModel = 'rtl8139';
export const NIC_TYPES = ['bridge', 'network', 'user', 'ethernet', 'direct', 'server', 'client', 'mcast', 'udp'] as const;
/** Interfaces QEMU connects itself, through -netdev socket (a TCP listen/connect, a multicast group, a UDP peer): no host device. */
export const SOCKET_NIC_TYPES = ['server', 'client', 'mcast', 'udp'] as const;
/** True when the interface has a host device (a tap or macvtap) that ferryd makes: not type='user' nor a socket. */
export function hasHostDevice(iface: { type: (typeof NIC_TYPES)[number] }): boolean {
  return iface.type !== 'user' && !(SOCKET_NIC_TYPES as readonly string[]).includes(iface.type);
}
export const MACVTAP_MODES = ['bridge', 'vepa', 'private', 'passthrough'] as const;

/** <bandwidth><inbound/> or <outbound/>: kilobytes per second, burst in kilobytes (libvirt's units). */
export interface BandwidthRate {
  average: number;
  peak?: number;
  burst?: number;
}

/** virtio-net's <driver>: the attributes QEMU's virtio-net-pci and tap take (see devices/nic-driver.ts). */
export interface NicDriver {
  /** iommu ats packed page_per_vq: virtio-pci options of a virtio NIC. */
  virtio?: VirtioOptions;
  /**
   * 'qemu': virtio-net in QEMU's userspace. 'vhost': the kernel's vhost-net
   * moves the packets; ferryd opens /dev/vhost-net (or <backend vhost>) once
   * per queue and hands the descriptors to QEMU. Unset: userspace, as 'qemu'.
   */
  name?: 'qemu' | 'vhost';
  queues?: number;
  txmode?: 'iothread' | 'timer';
  rxQueueSize?: number;
  txQueueSize?: number;
  /** virtio-net's ioeventfd= and event_idx= (on/off). */
  ioeventfd?: boolean;
  eventIdx?: boolean;
  /** rss='on': receive-side scaling across the queues (QEMU's software RSS: ferry loads no eBPF steering program). */
  rss?: boolean;
  /** rss_hash_report='on': the packet's hash in its virtio-net header (QEMU's hash=). */
  rssHashReport?: boolean;
  /** <host csum= gso= tso4= tso6= ecn= ufo= mrg_rxbuf=/>: on/off each. */
  host?: Partial<Record<'csum' | 'gso' | 'tso4' | 'tso6' | 'ecn' | 'ufo' | 'mrg_rxbuf', boolean>>;
  /** <guest csum= tso4= tso6= ecn= ufo=/> */
  guest?: Partial<Record<'csum' | 'tso4' | 'tso6' | 'ecn' | 'ufo', boolean>>;
}

/** type server/client/mcast/udp: <source address= port=> (the peer, or for server what to listen on); udp: <local address= port=>. */
export interface NicSocket {
  address?: string;
  port: number;
  local?: { address: string; port: number };
}

export interface InterfaceDefinition extends Placed {
  type: (typeof NIC_TYPES)[number];
  mac: string;
  model: NicModel;
  /** bridge / network; direct: dev (the host interface) and mode (macvtap's). */
  source: {
    bridge?: string;
    network?: string;
    dev?: string;
    mode?: (typeof MACVTAP_MODES)[number];
    socket?: NicSocket;
    /** type='ethernet' <source><ip>: addresses ferryd puts on the tap's host side (with a point-to-point peer=). */
    hostIps?: Array<{ address: string; family: 'ipv4' | 'ipv6'; prefix?: number; peer?: string }>;
    /** type='ethernet' <source><route>: routes ferryd adds through the tap. */
    hostRoutes?: Array<{ family: 'ipv4' | 'ipv6'; address: string; prefix?: number; gateway: string; metric?: number }>;
  };
  /** <target dev=...>: the tap device's name; generated at start when absent. */
  targetDev?: string;
  /** <target managed='no'>: type='ethernet' uses an existing tap that ferry neither creates nor removes. */
  targetManaged?: boolean;
  /** type='user' <ip address family prefix>: the networks QEMU's user-mode stack serves (net=, ipv6-prefix=). */
  userNet?: Array<{ address: string; family: 'ipv4' | 'ipv6'; prefix?: number }>;
  /** <tune><sndbuf>: the tap's send buffer in bytes (QEMU's sndbuf=; 0: unlimited). */
  sndbuf?: number;
  /**
   * <backend tap= vhost=/>: the character devices ferryd opens for this NIC
   * instead of /dev/net/tun (the tap's clone device) and /dev/vhost-net.
   */
  backend?: { tap?: string; vhost?: string };
  /** <port isolated='yes'>: the tap's bridge port is isolated (it talks only to non-isolated ports: the uplink). */
  portIsolated?: boolean;
  /** type='ethernet': <script path>, run by ferryd with the tap's name once the tap exists; <downscript> once it is gone. */
  script?: string;
  downscript?: string;
  bootOrder?: number;
  driver?: NicDriver;
  /** <mtu size>: the tap's MTU and virtio-net's host_mtu. */
  mtu?: number;
  /** <link state>: 'down' starts the NIC with its link down (QMP set_link). */
  linkState?: 'up' | 'down';
  bandwidth?: { inbound?: BandwidthRate; outbound?: BandwidthRate };
  /** <coalesce><rx><frames max=>: frames the tap batches before passing them on (its ethtool rx-frames; types 'bridge' and 'network'). */
  coalesceRxFrames?: number;
  /** <rom bar= file= enabled=>: the NIC's option ROM (QEMU's rombar / romfile; enabled='no' is no ROM at all). */
  rom?: { bar?: boolean; file?: string; enabled?: boolean };
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
  /** model='isa': <address type='isa' iobase=...> as written (QEMU's pvpanic is at 0x505). */
  isaIobase?: string;
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

/** <driver iommu= ats= packed= page_per_vq=> of a virtio device: QEMU's virtio-pci options (absent: QEMU's default). */
export interface VirtioOptions {
  iommu?: boolean;
  ats?: boolean;
  packed?: boolean;
  pagePerVq?: boolean;
}

export const FS_ACCESS_MODES = ['passthrough', 'mapped', 'squash'] as const;
export const FS_MULTIDEVS = ['default', 'remap', 'forbid', 'warn'] as const;
export const FS_MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;

/**
 * <filesystem type='mount'> with the 9p 'path' driver: a host directory the
 * guest mounts by its tag (mount -t 9p -o trans=virtio TAG /mnt); QEMU's
 * -fsdev local + virtio-9p-pci. With the 'mtp' driver: QEMU's usb-mtp on a
 * USB port (target: its description; only source, target and readonly apply).
 */
export interface FilesystemDefinition extends Placed {
  driver: 'path' | 'mtp';
  /** How guest file ownership maps to the host: QEMU's security_model (squash is QEMU's 'none'). */
  accessmode: (typeof FS_ACCESS_MODES)[number];
  model?: (typeof FS_MODELS)[number];
  /** <source dir=>: the host directory, absolute. */
  source: string;
  /** <target dir=>: the mount tag the guest sees. */
  target: string;
  readonly?: boolean;
  /** fmode= / dmode=: modes (0..0777) of files and directories the guest creates (mapped modes). */
  fmode?: number;
  dmode?: number;
  multidevs?: (typeof FS_MULTIDEVS)[number];
  /** <driver wrpolicy='immediate'>: QEMU's writeout=immediate. */
  wrpolicy?: 'immediate';
  virtio?: VirtioOptions;
}

export const TPM_PCR_BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export type TpmPcrBank = (typeof TPM_PCR_BANKS)[number];

/** <tpm>: an emulated TPM (swtpm, run by ferryd for the VM) or an external swtpm's unix socket. */
export interface TpmDefinition extends Placed {
  model: 'tpm-tis' | 'tpm-crb';
  backend:
    | {
        type: 'emulator';
        version: '2.0' | '1.2';
        /** persistent_state='yes': the state outlives the domain's undefine (and a transient domain's stop). */
        persistentState?: boolean;
        /** debug=N: swtpm's log level. */
        debug?: number;
        /** <active_pcr_banks>: the PCR banks swtpm_setup activates (TPM 2.0). */
        activePcrBanks?: TpmPcrBank[];
        /** <source type='dir'|'file' path=>: where the state lives instead of ferryd's per-VM directory. */
        source?: { type: 'dir' | 'file'; path: string };
        /** <encryption secret='UUID'/>: swtpm encrypts the state (and its migration blobs) with that secret's passphrase. */
        encryptionSecret?: string;
      }
    | { type: 'external'; socket: string };
}

/** <iommu model=...> with its <driver ...> options (intel-iommu's properties). */
export interface IommuDefinition extends Placed {
  model: 'intel' | 'virtio';
  intremap?: boolean;
  cachingMode?: boolean;
  eim?: boolean;
  iotlb?: boolean;
  awBits?: number;
  dmaTranslation?: boolean;
}

export interface HubDefinition extends Placed {
  type: 'usb';
}

export interface ParallelDefinition extends Placed, CharSource {
  /** <target port=N>: parallelN (default: its index). */
  targetPort: number;
}

/** Where a smartcard sits: <address type='ccid' controller= slot=>, and its QEMU id. */
export interface SmartcardPlacement {
  /** <address type='ccid' controller= slot=>: the CCID controller (its index) and the slot on it. */
  ccidController: number;
  ccidSlot: number;
  /** QEMU id (live XML only): smartcard0. */
  alias?: string;
}

/** <smartcard mode='passthrough'>: the card's commands go over a character device (ccid-card-passthru). */
export interface PassthroughSmartcardDefinition extends CharSource, SmartcardPlacement {
  mode: 'passthrough';
}

/**
 * <smartcard mode='host-certificates'>: QEMU emulates a card (ccid-card-emulated,
 * backend=certificates) from three certificates of an NSS database on the host.
 */
export interface CertificatesSmartcardDefinition extends SmartcardPlacement {
  mode: 'host-certificates';
  /** The three <certificate> nicknames, in order (QEMU's cert1..cert3). */
  certificates: [string, string, string];
  /** <database>: the NSS database directory (absolute); absent: libvirt's and QEMU's default, /etc/pki/nssdb. */
  database?: string;
}

export type SmartcardDefinition = PassthroughSmartcardDefinition | CertificatesSmartcardDefinition;

/** The NSS database a host-certificates smartcard reads when <database> names none (libvirt's and QEMU's default). */
export const DEFAULT_SMARTCARD_DATABASE = '/etc/pki/nssdb';
