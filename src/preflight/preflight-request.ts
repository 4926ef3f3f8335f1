/** What the source tells the destination for its half of the pre-flight checks. */
export interface PreflightRequest {
  live: boolean;
  domain: {
    name: string;
    uuid: string;
    memoryKiB: number;
    vcpus: number;
    machine: string | undefined;
    /**
     * Its <cpu>: with a named model, its <feature> policies and check=, and the features the source's QEMU
     * could not give it (sourceMissing: the guest never had them).
     */
    cpu: { mode: string; model?: string; check?: string; features?: Array<{ policy: string; name: string }>; sourceMissing?: string[] };
    accel: 'kvm' | 'tcg';
    /** The version of its emulated TPM (swtpm), when it has one. */
    tpm?: '2.0' | '1.2';
    /** Its D-Bus display is on a bus ferryd runs (dbus-daemon), which the destination starts for it. */
    dbusBus?: boolean;
    /** How much of its memory each huge page size backs (no size: the host's default); absent without huge pages. */
    hugepages?: Array<{ sizeKiB?: number; kib: number }>;
    /** The host CPUs and NUMA nodes it is pinned to (static pinning; absent when there is none). */
    pinning?: Array<{ where: string; kind: 'cpus' | 'nodes'; set: string }>;
    /** Its <vsock>: the guest CID it runs with on the source, and whether another may be taken (auto='yes'). */
    vsock?: { cid?: number; auto: boolean };
  };
  disks: PreflightDisk[];
  /** vhost: the vhost-net device a <driver name='vhost'> NIC opens (/dev/vhost-net or its <backend vhost>). */
  interfaces: Array<{ mac: string; type: string; bridge?: string; network?: string; vhost?: string }>;
  source: {
    hostname: string;
    qemuVersion: string;
    cpuFlags: string[];
    /** The source's clock when it sent this request (NTP-style offset measurement). */
    t0: number;
  };
  /** Where the destination QEMU will listen (--listen-address), if given. */
  listenAddress?: string;
  /** The port --migrateuri names: the destination QEMU will listen on exactly this one. */
  listenPort?: number;
  /** Leases the domain needs, by resource name. */
  leases: string[];
  /** The firmware files the domain's QEMU opens (UEFI code, and the NVRAM template a first start needs). */
  firmware?: { loader?: string; nvramTemplate?: string };
  /** The migration is encrypted (--tls or the source's migrate_tls_force): check the server certificates. */
  tls?: boolean;
  /** The domain's <filesystem> exports: the destination's QEMU opens the same host directories. */
  filesystems?: Array<{ target: string; dir: string }>;
  /** The NSS database directories of the domain's <smartcard mode='host-certificates'>: the destination's QEMU reads its own copy. */
  smartcardDatabases?: string[];
  /** The secrets the domain's disks name (<auth>, <encryption>): the destination's QEMU needs the same ones from its own store. */
  secrets?: Array<{ disk: string; type: string; uuid?: string; usage?: string }>;
}

export interface PreflightDisk {
  dev: string;
  type: 'file' | 'block' | 'network' | 'volume';
  readonly: boolean;
  /** Copied by this migration (--copy-storage-*): the destination needs room, not the disk. */
  copied: boolean;
  path?: string;
  pool?: string;
  volume?: string;
  /** The source pool's target directory, to compare with the destination's. */
  poolTarget?: string;
  /** The disk's size on the source (diskSize(): a qcow2 image's virtual size, a raw file's length, a device's size). */
  size?: number;
  /** Bytes the image uses (copies need this much room). */
  allocation?: number;
  network?: { protocol: string; host: string; port: number };
}

/** The destination's answer: its checks and the facts the source needs for its own. */
export interface PreflightReply {
  results: import('./check-result.js').CheckResult[];
  hostname: string;
  addresses: string[];
  /** When the request arrived and when the reply left, on the destination's clock. */
  t1: number;
  t2: number;
  /** A port the destination listens on for a moment, for the source to try. */
  probe?: { address: string; port: number; connectHost?: string };
  /** For an encrypted migration: the destination's server certificate (PEM), for the source's hostname check. */
  tls?: { serverCert: string };
}
