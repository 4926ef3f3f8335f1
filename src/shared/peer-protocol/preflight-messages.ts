/**
 * The pre-flight call's messages: the source's half of the checks
 * (PreflightRequest) and the destination's answer (PreflightReply). Types come
 * from the schemas (Static).
 */
import { type Static, Type } from '@sinclair/typebox';
import { CHECKS, type CheckId } from '../preflight-checks.js';
import { arrayOf, bool, choice, closed, flag, int, integer, list, nonEmpty, num, oneOf, optional, record, str, text } from '../typed-schema.js';

const preflightDisk = closed({
  dev: nonEmpty(),
  type: oneOf(['file', 'block', 'network', 'volume']),
  readonly: bool(),
  /** Copied by this migration (--copy-storage-*): the destination needs room, not the disk. */
  copied: bool(),
  path: optional(str()),
  pool: optional(str()),
  volume: optional(str()),
  /** The source pool's target directory, to compare with the destination's. */
  poolTarget: optional(str()),
  /** The disk's size on the source (diskSize(): a qcow2 image's virtual size, a raw file's length, a device's size). */
  size: optional(int(0)),
  /** Bytes the image uses (copies need this much room). */
  allocation: optional(int(0)),
  network: optional(closed({ protocol: nonEmpty(), host: nonEmpty(), port: int(0, 65535) })),
});
export type PreflightDisk = Static<typeof preflightDisk>;

/** PreflightRequest: what the source tells the destination for its half of the pre-flight checks. */
export const preflightRequestSchema = closed({
  live: bool(),
  domain: closed({
    name: nonEmpty(),
    uuid: nonEmpty(),
    memoryKiB: int(1),
    vcpus: int(1),
    machine: optional(str()),
    /**
     * Its <cpu>: with a named model, its <feature> policies and check=, and the features the source's QEMU
     * could not give it (sourceMissing: the guest never had them).
     */
    cpu: closed({
      mode: nonEmpty(),
      model: optional(str()),
      check: optional(str()),
      features: optional(arrayOf(closed({ policy: nonEmpty(), name: nonEmpty() }))),
      sourceMissing: optional(arrayOf(str())),
    }),
    accel: oneOf(['kvm', 'tcg']),
    /** The version of its emulated TPM (swtpm), when it has one. */
    tpm: optional(oneOf(['2.0', '1.2'])),
    /** Its D-Bus display is on a bus ferryd runs (dbus-daemon), which the destination starts for it. */
    dbusBus: optional(bool()),
    /** How much of its memory each huge page size backs (no size: the host's default); absent without huge pages. */
    hugepages: optional(arrayOf(closed({ sizeKiB: optional(int(4)), kib: int(0) }))),
    /** The host CPUs and NUMA nodes it is pinned to (static pinning; absent when there is none). */
    pinning: optional(arrayOf(closed({ where: nonEmpty(), kind: oneOf(['cpus', 'nodes']), set: nonEmpty() }))),
    /** Its <vsock>: the guest CID it runs with on the source, and whether another may be taken (auto='yes'). */
    vsock: optional(closed({ cid: optional(int(3, 0xfffffffe)), auto: bool() })),
  }),
  disks: arrayOf(preflightDisk),
  /** vhost: the vhost-net device a <driver name='vhost'> NIC opens (/dev/vhost-net or its <backend vhost>). */
  interfaces: arrayOf(closed({ mac: nonEmpty(), type: nonEmpty(), bridge: optional(str()), network: optional(str()), vhost: optional(nonEmpty()) })),
  /** t0: the source's clock when it sent this request (NTP-style offset measurement). */
  source: closed({ hostname: str(), qemuVersion: str(), cpuFlags: arrayOf(str()), t0: Type.Number() }),
  /** Where the destination QEMU will listen (--listen-address), if given. */
  listenAddress: optional(nonEmpty()),
  /** The port --migrateuri names: the destination QEMU will listen on exactly this one. */
  listenPort: optional(int(1, 65535)),
  /** Leases the domain needs, by resource name. */
  leases: arrayOf(str()),
  /** The migration is encrypted (--tls or the source's migrate_tls_force): check the server certificates. */
  tls: optional(bool()),
  /** The domain's <filesystem> exports: the destination's QEMU opens the same host directories. */
  filesystems: optional(arrayOf(closed({ target: nonEmpty(), dir: nonEmpty() }))),
  /** The secrets the domain's disks name (<auth>, <encryption>): the destination's QEMU needs the same ones from its own store. */
  secrets: optional(arrayOf(closed({ disk: nonEmpty(), type: nonEmpty(), uuid: optional(nonEmpty()), usage: optional(str()) }))),
  /** The firmware files the domain's QEMU opens (UEFI code, and the NVRAM template a first start needs). */
  firmware: optional(closed({ loader: optional(nonEmpty()), nvramTemplate: optional(nonEmpty()) })),
  /** The NSS database directories of the domain's <smartcard mode='host-certificates'>: the destination's QEMU reads its own copy. */
  smartcardDatabases: optional(arrayOf(nonEmpty())),
});
export type PreflightRequest = Static<typeof preflightRequestSchema>;

/** The pre-flight call's request body. */
export const preflightBodySchema = closed({ request: preflightRequestSchema });

/** One check's verdict (CheckResult). */
export const checkResultSchema = record({
  id: choice(Object.keys(CHECKS) as CheckId[]),
  outcome: choice(['pass', 'warn', 'fail']),
  reason: text(),
  hint: optional(text()),
  overridable: flag('--unsafe turns a failure of this check into a warning'),
});

/** The destination's answer: its checks and the facts the source needs for its own. */
export const preflightReplySchema = record({
  results: list(checkResultSchema),
  hostname: text(),
  addresses: list(text()),
  t1: num("When the request arrived, on the destination's clock"),
  t2: num("When the reply left, on the destination's clock"),
  probe: optional(
    record({ address: text(), port: integer(), connectHost: optional(text()) }, 'A port the destination listens on for a moment, for the source to try'),
  ),
  tls: optional(record({ serverCert: text() }, "An encrypted migration: the destination's server certificate (PEM), for the source's hostname check")),
});
export type PreflightReply = Static<typeof preflightReplySchema>;
