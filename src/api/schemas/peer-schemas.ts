import { arrayOf, bool, int, nonEmpty, object, oneOf, openObject, str } from './json-schema.js';

const lease = object({
  resource: nonEmpty(), label: str(), mode: oneOf(['exclusive', 'shared']), disk: str(), path: str(),
}, ['resource', 'label', 'mode', 'disk', 'path']);

const diskCopy = object({
  dev: nonEmpty(), format: oneOf(['raw', 'qcow2']), sourcePath: str(), virtualSize: int(0), allocation: int(0),
  target: {
    oneOf: [object({ pool: nonEmpty(), volume: nonEmpty() }, ['pool', 'volume']), object({ path: nonEmpty() }, ['path'])],
  },
}, ['dev', 'format', 'sourcePath', 'virtualSize', 'allocation', 'target']);

/**
 * The migration cookie (MigrationCookie). Its top level stays open: a newer
 * source may add optional sections, and the ones it cannot do without are
 * named in `mandatory`, which the destination checks (libvirt's
 * flagsMandatory). Every section this ferryd knows is closed and typed.
 */
export const migrationCookieSchema = {
  type: 'object',
  required: ['version', 'migrationId', 'mandatory', 'domain', 'source', 'flags', 'tuning'],
  properties: {
    // Any version gets to validateCookie(), which refuses the ones it does not speak in words.
    version: int(1),
    migrationId: nonEmpty(),
    mandatory: arrayOf(str()),
    domain: object({ name: nonEmpty(), uuid: nonEmpty(), xml: nonEmpty(), persistentXml: { type: ['string', 'null'] } }, ['name', 'uuid', 'xml', 'persistentXml']),
    source: object({ hostId: str(), hostname: str(), qemuVersion: str(), accel: oneOf(['kvm', 'tcg']), peerUri: nonEmpty() }, ['hostId', 'hostname', 'qemuVersion', 'accel']),
    flags: object(
      { live: bool(), offline: bool(), suspend: bool(), persistent: bool(), undefineSource: bool(), postcopy: bool(), sourceWasRunning: bool() },
      ['live', 'offline', 'suspend', 'persistent', 'undefineSource', 'postcopy', 'sourceWasRunning'],
    ),
    storage: object({ mode: oneOf(['all', 'inc']), disks: arrayOf(diskCopy) }, ['mode', 'disks']),
    tuning: object({ capabilities: { type: 'object', additionalProperties: { type: 'boolean' } }, sharedParameters: openObject() }, ['capabilities', 'sharedParameters']),
    tls: object({ storage: bool() }, ['storage']),
    tpm: object({ files: int(0) }, ['files']),
    listen: object({ address: nonEmpty(), port: int(1, 65535) }),
    nvram: object({ path: nonEmpty(), auto: bool(), format: oneOf(['raw', 'qcow2']), data: str(), probe: nonEmpty() }, ['path', 'auto', 'format', 'data', 'probe']),
  },
} as const;

/** FinishRequest: what the source tells the destination at the switch. */
export const finishRequestSchema = object({
  resume: bool(), postcopy: bool(), persistentXml: { type: ['string', 'null'] },
  /** The source's job statistics, kept for domjobinfo --completed. */
  stats: openObject(),
  leases: arrayOf(lease),
  /** Offline: the emulated TPM's state files, name → base64 (a few KiB). */
  tpmState: { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 4 * 1024 * 1024 } },
}, ['resume', 'postcopy']);

const preflightDisk = object({
  dev: nonEmpty(), type: oneOf(['file', 'block', 'network', 'volume']), readonly: bool(), copied: bool(),
  path: str(), pool: str(), volume: str(), poolTarget: str(), size: int(0), allocation: int(0),
  network: object({ protocol: nonEmpty(), host: nonEmpty(), port: int(0, 65535) }, ['protocol', 'host', 'port']),
}, ['dev', 'type', 'readonly', 'copied']);

/** PreflightRequest: the source's half of the pre-flight checks, for the destination's. */
export const preflightRequestSchema = object({
  live: bool(),
  domain: object({
    name: nonEmpty(), uuid: nonEmpty(), memoryKiB: int(1), vcpus: int(1), machine: str(),
    cpu: object({ mode: nonEmpty(), model: str(), check: str(), features: arrayOf(object({ policy: nonEmpty(), name: nonEmpty() }, ['policy', 'name'])), sourceMissing: arrayOf(str()) }, ['mode']), accel: oneOf(['kvm', 'tcg']), tpm: oneOf(['2.0', '1.2']), dbusBus: bool(),
    hugepages: arrayOf(object({ sizeKiB: int(4), kib: int(0) }, ['kib'])),
    pinning: arrayOf(object({ where: nonEmpty(), kind: oneOf(['cpus', 'nodes']), set: nonEmpty() }, ['where', 'kind', 'set'])), vsock: object({ cid: int(3, 0xfffffffe), auto: bool() }, ['auto']),
  }, ['name', 'uuid', 'memoryKiB', 'vcpus', 'cpu', 'accel']),
  disks: arrayOf(preflightDisk),
  interfaces: arrayOf(object({ mac: nonEmpty(), type: nonEmpty(), bridge: str(), network: str(), vhost: nonEmpty() }, ['mac', 'type'])),
  source: object({ hostname: str(), qemuVersion: str(), cpuFlags: arrayOf(str()), t0: { type: 'number' } }, ['hostname', 'qemuVersion', 'cpuFlags', 't0']),
  listenAddress: nonEmpty(),
  listenPort: int(1, 65535),
  leases: arrayOf(str()),
  tls: bool(),
  filesystems: arrayOf(object({ target: nonEmpty(), dir: nonEmpty() }, ['target', 'dir'])),
  secrets: arrayOf(object({ disk: nonEmpty(), type: nonEmpty(), uuid: nonEmpty(), usage: str() }, ['disk', 'type'])),
  firmware: object({ loader: nonEmpty(), nvramTemplate: nonEmpty() }),
  smartcardDatabases: arrayOf(nonEmpty()),
}, ['live', 'domain', 'disks', 'interfaces', 'source', 'leases']);
