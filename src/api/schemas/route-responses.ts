import { anyValue, choice, done, errorRef, flag, integer, list, mapOf, nullable, num, record, replies, text } from './response-schema.js';

/**
 * The success body of every route, by "METHOD /url" as registered (prefix
 * included). app.ts adds them, with the error body, to each route's schema as
 * it is registered (withResponses), so the handlers' files keep to parsing.
 * response-schemas.test.ts fails on a route missing here.
 */
type Schema = Record<string, unknown>;

const domainRef = record({ name: text(), uuid: text() }, ['name', 'uuid']);
const domainSummary = record(
  {
    uuid: text(),
    name: text(),
    domainId: nullable(integer("The running domain's id, null when shut off")),
    state: text('running, paused, shutoff, ...'),
    reason: text(),
    persistent: flag(),
    autostart: flag(),
    managedSave: flag('A managed save image exists'),
  },
  ['uuid', 'name', 'domainId', 'state', 'reason', 'persistent', 'autostart'],
);
const domainInfo = record(
  {
    id: nullable(integer()),
    name: text(),
    uuid: text(),
    osType: text(),
    state: text(),
    reason: text(),
    vcpus: integer(),
    cpuTimeSeconds: nullable(num()),
    maxMemoryKiB: integer(),
    usedMemoryKiB: integer(),
    persistent: flag(),
    autostart: flag(),
    securityLabel: nullable(text("The QEMU process's +UID:+GID; null when shut off")),
    taints: list(text()),
    managedSave: flag('A managed save image exists (virsh managedsave): the next start restores it'),
  },
  ['id', 'name', 'uuid', 'state', 'reason', 'vcpus', 'maxMemoryKiB', 'usedMemoryKiB', 'persistent', 'autostart'],
);
const domainState = record({ name: text(), uuid: text(), id: nullable(integer()), state: text() }, ['name', 'uuid', 'id', 'state']);
const xml = record({ xml: text('The XML document') }, ['xml']);

const jobInfo = record(
  {
    type: choice(['None', 'Unbounded', 'Completed', 'Failed', 'Cancelled']),
    operation: text(),
    phase: text(),
    status: text(),
    timeElapsedMs: num(),
    percent: num("0-100, as virsh's progress line"),
    error: text(),
  },
  ['type', 'percent'],
  "libvirt's job statistics (domjobinfo): every counter QEMU reports, bytes and ms",
);
const checkResult = record({ id: text(), outcome: choice(['pass', 'warn', 'fail']), reason: text(), hint: text(), overridable: flag() }, [
  'id',
  'outcome',
  'reason',
]);

const poolSummary = record(
  {
    name: text(),
    uuid: text(),
    type: text(),
    state: choice(['running', 'inactive']),
    autostart: flag(),
    persistent: flag(),
    target: text(),
    stats: record({ capacity: integer(), allocation: integer(), available: integer() }, [], 'Bytes (with details, or for one pool)'),
  },
  ['name', 'uuid', 'type', 'state', 'autostart', 'persistent', 'target'],
);
const poolDefinition = record({ type: text(), name: text(), uuid: text(), source: record({}), target: record({ path: text() }) }, ['type', 'name', 'uuid']);
const volume = record(
  {
    name: text(),
    path: text(),
    type: choice(['file', 'block']),
    format: text(),
    capacity: integer('Bytes the guest sees'),
    allocation: integer('Bytes used on the host'),
  },
  ['name', 'path', 'type', 'format', 'capacity', 'allocation'],
);
const network = record(
  {
    name: text(),
    uuid: text(),
    forward: anyValue('The forward mode and its details'),
    active: flag(),
    autostart: flag(),
    persistent: flag(),
    bridge: text(),
  },
  ['name', 'uuid', 'active', 'autostart', 'persistent', 'bridge'],
);
const secret = record({ uuid: text(), usage: text(), ephemeral: flag(), private: flag(), hasValue: flag() }, [
  'uuid',
  'usage',
  'ephemeral',
  'private',
  'hasValue',
]);
const vcpuCount = record(
  {
    maximumConfig: nullable(integer()),
    maximumLive: nullable(integer()),
    currentConfig: nullable(integer()),
    currentLive: nullable(integer()),
  },
  ['maximumConfig', 'maximumLive', 'currentConfig', 'currentLive'],
);
const pins = record({ pins: list(record({ vcpu: integer(), cpuset: text() }, ['vcpu', 'cpuset'])) }, ['pins']);
const parameters = record(
  {
    parameters: list({ type: 'array', items: text(), minItems: 2, maxItems: 2 }, "[name, value] pairs in virsh's order, as virsh prints them"),
  },
  ['parameters'],
);
const blockJob = record(
  { job: record({ disk: text(), kind: text(), offset: integer(), len: integer(), ready: flag(), percent: num() }, ['disk', 'kind', 'offset', 'len', 'ready']) },
  ['job'],
);
const filesystems = record({ filesystems: anyValue("The guest agent's answer: the number of filesystems frozen or thawed") }, ['filesystems']);

export const ROUTE_RESPONSES: Record<string, Schema> = {
  // Domains
  'GET /v1/domains': record({ domains: list(domainSummary) }, ['domains']),
  'POST /v1/domains': record({ domain: domainRef }, ['domain']),
  'POST /v1/domains/create': record({ domain: record({ name: text(), uuid: text(), id: nullable(integer()) }, ['name', 'uuid']) }, ['domain']),
  'GET /v1/domains/:ref': record({ domain: domainInfo }, ['domain']),
  'POST /v1/domains/:ref/managedsave': record({ domain: domainState }, ['domain']),
  'DELETE /v1/domains/:ref/managedsave': record({ domain: domainRef, removed: flag('false: the domain had no managed save image') }, ['domain', 'removed']),
  'GET /v1/domains/:ref/state': record({ name: text(), state: text(), reason: text() }, ['name', 'state', 'reason']),
  'GET /v1/domains/:ref/xml': xml,
  'GET /v1/domains/:ref/displays': record(
    { uris: list(record({ type: text(), uri: text() }, ['type', 'uri'])), vnc: text("The VNC display (domdisplay's :N)") },
    ['uris'],
  ),
  'DELETE /v1/domains/:ref': record({ domain: domainRef, nvramKept: text('A network NVRAM left in place') }, ['domain']),
  'POST /v1/domains/:ref/:action': record({ domain: domainState }, ['domain']),
  'GET /v1/domains/:ref/disks': record(
    {
      disks: list(
        record(
          {
            target: text(),
            bus: text(),
            type: text(),
            device: text(),
            source: text(),
            format: text(),
            cache: text(),
            io: nullable(text()),
            readonly: flag(),
            shareable: flag(),
          },
          ['target', 'source'],
        ),
      ),
    },
    ['disks'],
  ),
  'PATCH /v1/domains/:ref/disks/:target': record({ domain: domainRef, active: flag('The running domain was changed too') }, ['domain', 'active']),
  'POST /v1/domains/:ref/qemu-monitor-command': record({ return: anyValue("QEMU's reply") }, ['return']),
  'GET /v1/domains/:ref/memory-stats': record({ stats: list(record({ tag: text(), value: num() }, ['tag', 'value'])) }, ['stats']),
  'PUT /v1/domains/:ref/memory-stats-period': done,
  'PUT /v1/domains/:ref/memory': done,
  // vCPUs and tuning
  'GET /v1/domains/:ref/vcpus/count': record({ count: vcpuCount }, ['count']),
  'PUT /v1/domains/:ref/vcpus/count': record({ count: vcpuCount }, ['count']),
  'GET /v1/domains/:ref/vcpus': record(
    {
      vcpus: list(
        record({ vcpu: integer(), cpu: nullable(integer()), state: nullable(text()), cpuSeconds: nullable(num()), affinity: text() }, ['vcpu', 'affinity']),
      ),
    },
    ['vcpus'],
  ),
  'GET /v1/domains/:ref/vcpus/pins': pins,
  'PUT /v1/domains/:ref/vcpus/pins/:vcpu': pins,
  'GET /v1/domains/:ref/emulatorpin': record({ cpuset: text() }, ['cpuset']),
  'PUT /v1/domains/:ref/emulatorpin': record({ cpuset: text() }, ['cpuset']),
  'GET /v1/domains/:ref/numatune': record({ numatune: record({ mode: text(), nodeset: text() }, ['mode', 'nodeset']) }, ['numatune']),
  'GET /v1/domains/:ref/schedinfo': parameters,
  'PUT /v1/domains/:ref/schedinfo': parameters,
  'GET /v1/domains/:ref/blkiotune': parameters,
  'PUT /v1/domains/:ref/blkiotune': parameters,
  'GET /v1/domains/:ref/memtune': parameters,
  // Interfaces
  'GET /v1/domains/:ref/interfaces': record(
    {
      interfaces: list(
        record({ interface: text(), type: text(), source: text(), model: text(), mac: text() }, ['interface', 'type', 'source', 'model', 'mac']),
      ),
    },
    ['interfaces'],
  ),
  'GET /v1/domains/:ref/interfaces/:iface/link': record({ interface: text(), state: choice(['up', 'down']) }, ['interface', 'state']),
  'PUT /v1/domains/:ref/interfaces/:iface/link': record({ ok: flag() }, ['ok']),
  'GET /v1/domain-stats': record(
    {
      domains: list(
        record(
          {
            name: text(),
            params: list(
              record({ field: text("libvirt's name: state.state, cpu.time, block.0.rd.bytes, ..."), value: anyValue('a number or a string') }, [
                'field',
                'value',
              ]),
            ),
          },
          ['name', 'params'],
        ),
      ),
    },
    ['domains'],
  ),
  'GET /v1/domains/:ref/block-stats': record(
    {
      stats: record(
        {
          name: text(),
          path: text(),
          rd: mapOf(integer(), 'reqs, bytes, times'),
          wr: mapOf(integer(), 'reqs, bytes, times'),
          fl: mapOf(integer(), 'reqs, times'),
          allocation: integer(),
          capacity: integer(),
          physical: integer(),
        },
        ['name', 'rd', 'wr', 'fl'],
      ),
    },
    ['stats'],
  ),
  'GET /v1/audit': record(
    {
      records: list(
        record(
          {
            id: integer(),
            at: integer('ms since the epoch'),
            listener: text('unix, unix-ro, tls or tcp'),
            uid: nullable(integer()),
            gid: nullable(integer()),
            pid: nullable(integer()),
            dn: nullable(text("The client certificate's DN (TLS)")),
            origin: text(),
            method: text(),
            route: text(),
            operation: text(),
            domainName: nullable(text()),
            domainUuid: nullable(text()),
            options: mapOf(anyValue()),
            outcome: choice(['ok', 'error']),
            errorCode: nullable(text()),
            durationMs: num(),
          },
          ['id', 'at', 'listener', 'origin', 'method', 'route', 'operation', 'outcome'],
        ),
      ),
    },
    ['records'],
  ),
  'GET /v1/migrations/history': record(
    {
      migrations: list(
        record(
          {
            id: text(),
            side: choice(['source', 'destination']),
            name: text(),
            uuid: text(),
            peer: text(),
            outcome: text('The last phase: Succeeded, Failed or Cancelled once finished'),
            error: nullable(text()),
            options: mapOf(anyValue()),
            startedAt: integer(),
            endedAt: integer(),
            totalMs: num(),
            bytes: nullable(integer()),
            diskBytes: nullable(integer()),
            downtimeMs: nullable(num()),
            phases: list(record({ phase: text(), at: integer(), durationMs: nullable(num()) }, ['phase', 'at'])),
            stats: nullable(mapOf(anyValue())),
          },
          ['id', 'side', 'name', 'uuid', 'outcome', 'phases'],
        ),
      ),
    },
    ['migrations'],
  ),
  'GET /v1/domains/:ref/interfaces/:iface/stats': record(
    { stats: mapOf(num(), 'rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop') },
    ['stats'],
  ),
  // Guest agent
  'POST /v1/domains/:ref/agent-command': record({ reply: anyValue("The agent's reply") }, ['reply']),
  'GET /v1/domains/:ref/addresses': record(
    {
      interfaces: list(
        record({ name: text(), hwaddr: nullable(text()), addrs: list(record({ type: text(), addr: text(), prefix: integer() })) }, ['name', 'hwaddr', 'addrs']),
      ),
    },
    ['interfaces'],
  ),
  'GET /v1/domains/:ref/guestinfo': record(
    { users: anyValue(), os: anyValue(), timezone: anyValue(), hostname: anyValue(), filesystems: anyValue() },
    [],
    'The groups asked for',
  ),
  'GET /v1/domains/:ref/time': record({ time: anyValue("The guest's clock") }, ['time']),
  'PUT /v1/domains/:ref/time': done,
  'POST /v1/domains/:ref/fsfreeze': filesystems,
  'POST /v1/domains/:ref/fsthaw': filesystems,
  // Host
  'GET /v1/node': record(
    {
      node: record(
        {
          cpuModel: text(),
          cpus: integer(),
          mhz: num(),
          sockets: integer(),
          coresPerSocket: integer(),
          threadsPerCore: integer(),
          numaCells: integer(),
          memoryKiB: integer(),
        },
        ['cpuModel', 'cpus', 'mhz', 'sockets', 'coresPerSocket', 'threadsPerCore', 'numaCells', 'memoryKiB'],
      ),
    },
    ['node'],
  ),
  'GET /v1/node/cpu-models': record(
    {
      catalog: record({ accel: text(), hostModel: text(), hostFeatures: list(text()), models: list(record({})) }, [
        'accel',
        'hostModel',
        'hostFeatures',
        'models',
      ]),
    },
    ['catalog'],
  ),
  'GET /v1/version': record(
    {
      version: record(
        {
          ferry: text(),
          qemu: nullable(text()),
          qemuPackage: nullable(text()),
          qemuBinary: text(),
          accel: nullable(text()),
          accelReason: text(),
          hostname: text(),
        },
        ['ferry', 'qemu', 'qemuBinary', 'accel', 'hostname'],
      ),
    },
    ['version'],
  ),
  'GET /openapi.json': record({ openapi: text(), info: record({}), paths: record({}) }, ['openapi', 'info', 'paths'], 'This document'),
  // Secrets
  'GET /v1/secrets': record({ secrets: list(secret) }, ['secrets']),
  'POST /v1/secrets': record({ secret }, ['secret']),
  'GET /v1/secrets/:uuid/xml': xml,
  'PUT /v1/secrets/:uuid/value': done,
  'POST /v1/secrets/:uuid/value': record({ value: text('base64, as virsh secret-get-value prints it') }, ['value']),
  'DELETE /v1/secrets/:uuid': done,
  // Storage
  'GET /v1/pools': record({ pools: list(poolSummary) }, ['pools']),
  'POST /v1/pools': record({ pool: poolDefinition }, ['pool']),
  'POST /v1/pools/define-as': record({ pool: poolDefinition }, ['pool']),
  'GET /v1/pools/:pool': record({ pool: poolSummary }, ['pool']),
  'GET /v1/pools/:pool/xml': xml,
  'POST /v1/pools/:pool/:action': record({ pool: poolSummary }, ['pool']),
  'DELETE /v1/pools/:pool': done,
  'GET /v1/pools/:pool/volumes': record({ volumes: list(volume) }, ['volumes']),
  'POST /v1/pools/:pool/volumes': record({ volume }, ['volume']),
  'GET /v1/pools/:pool/volumes/:vol': record({ volume }, ['volume']),
  'DELETE /v1/pools/:pool/volumes/:vol': done,
  'GET /v1/volumes': record({ pool: text(), volume }, ['pool', 'volume']),
  // Networks
  'GET /v1/networks': record({ networks: list(network) }, ['networks']),
  'POST /v1/networks': record({ network }, ['network']),
  'POST /v1/networks/create': record({ network }, ['network']),
  'GET /v1/networks/:net': record({ network }, ['network']),
  'GET /v1/networks/:net/xml': xml,
  'POST /v1/networks/:net/:action': record(
    { network: nullable({ ...network, type: 'object' }) },
    ['network'],
    'null: a transient network, gone once destroyed',
  ),
  'DELETE /v1/networks/:net': done,
  // Disks: block copy and hotplug
  'POST /v1/domains/:ref/disks/:dev/copy': blockJob,
  'GET /v1/domains/:ref/disks/:dev/job': blockJob,
  'POST /v1/domains/:ref/disks/:dev/job/:action': done,
  'POST /v1/domains/:ref/disks': done,
  'DELETE /v1/domains/:ref/disks/:target': done,
  'POST /v1/domains/:ref/disks/:target/media': done,
  // Migration, pre-flight checks and leases
  'POST /v1/domains/:ref/migrate-check': record({ results: list(checkResult), failed: list(checkResult), warnings: list(checkResult) }, [
    'results',
    'failed',
    'warnings',
  ]),
  'GET /v1/locks': record({ leases: list(record({})) }, ['leases']),
  'POST /v1/locks/clear': record({ checked: list(text()), unreachable: list(text()) }, ['checked', 'unreachable']),
  'POST /v1/domains/:ref/migrate': record(
    {
      migration: record({ id: text(), name: text(), dest: text(), job: jobInfo, warnings: list(text()), wallMs: num() }, [
        'id',
        'name',
        'dest',
        'job',
        'warnings',
        'wallMs',
      ]),
    },
    ['migration'],
  ),
  'GET /v1/domains/:ref/job': record({ job: jobInfo }, ['job']),
  'POST /v1/domains/:ref/job/abort': done,
  'POST /v1/domains/:ref/job/postcopy': done,
  'POST /v1/domains/:ref/job/postcopy-resume': done,
  'GET /v1/domains/:ref/migration/speed': record({ bandwidth: num('MiB/s') }, ['bandwidth']),
  'PUT /v1/domains/:ref/migration/speed': done,
  'GET /v1/domains/:ref/migration/max-downtime': record({ downtime: num('ms') }, ['downtime']),
  'PUT /v1/domains/:ref/migration/max-downtime': done,
  // The peer API (host to host) declares its replies with its calls: shared/peer-protocol/peer-calls.ts.
};

/** Routes whose success is not a JSON body: a stream of server-sent events, a connection upgraded to a byte stream. */
const STREAMS: Record<string, Record<string, Schema>> = {
  'GET /v1/events': {
    200: {
      description:
        'Server-sent events: each has an `id:` (send it back as Last-Event-ID to resume), an `event:` (its type) and a `data:` line of JSON. docs/api.md',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
  },
  'POST /v1/domains/:ref/console': {
    101: { description: "Switching Protocols: the connection is now the console's byte stream (shared/console-protocol.ts)" },
  },
};

/** The response schemas of a route from the table: its success body (or stream), and the error body. */
export function responsesFor(method: string, url: string): Record<string, Schema> | undefined {
  const key = `${method} ${url}`;
  const stream = STREAMS[key];
  if (stream !== undefined) return { ...stream, '4xx': errorRef, '5xx': errorRef };
  const ok = ROUTE_RESPONSES[key];
  return ok === undefined ? undefined : replies(ok);
}

/** Every "METHOD /url" the table describes (for the test that each route has its schema). */
export const DESCRIBED_ROUTES = [...Object.keys(ROUTE_RESPONSES), ...Object.keys(STREAMS)];
