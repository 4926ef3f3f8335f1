import { Type } from '@sinclair/typebox';
import {
  auditRecordSchema,
  blockCountersSchema,
  blockJobStatusSchema,
  displayUriSchema,
  domainInfoSchema,
  domainSummarySchema,
  interfaceStatsSchema,
  memoryStatSchema,
  migrationHistoryEntrySchema,
  migrationResultSchema,
  networkSummarySchema,
  nodeInfoSchema,
  poolSummarySchema,
  secretSummarySchema,
  typedParamSchema,
  vcpuCountSchema,
  vcpuInfoSchema,
  versionInfoSchema,
} from '../../shared/api-types.js';
import { cpuCatalogSchema } from '../../shared/cpu-catalog.js';
import { jobInfoSchema } from '../../shared/job-info.js';
import { heldLeaseSchema } from '../../shared/lease.js';
import { migrationForecastSchema } from '../../shared/migration-forecast.js';
import { checkResultSchema } from '../../shared/peer-protocol/preflight-messages.js';
import { anyValue, choice, flag, integer, list, nullable, num, optional, record, text, type TSchema } from '../../shared/typed-schema.js';
import { volumeInfoSchema } from '../../shared/volume.js';
import { done, errorRef, replies } from './response-schema.js';

/**
 * The success body of every route, by "METHOD /url" as registered (prefix
 * included). app.ts adds them, with the error body, to each route's schema as
 * it is registered (withResponses), so the handlers' files keep to parsing.
 * response-schemas.test.ts fails on a route missing here. The replies the
 * CLI reads are declared in shared/ with their types (api-types.ts and its
 * neighbours); the rest here.
 */
type Schema = Record<string, unknown>;

const domainRef = record({ name: text(), uuid: text() });
const domainState = record({ name: text(), uuid: text(), id: nullable(integer()), state: text() });
const xml = record({ xml: text('The XML document') });

const poolDefinition = record({ type: text(), name: text(), uuid: text(), source: optional(record({})), target: optional(record({ path: optional(text()) })) });
const pins = record({ pins: list(record({ vcpu: integer(), cpuset: text() })) });
const parameters = record({
  parameters: list(
    Type.Unsafe<[string, string]>(Type.Array(text(), { minItems: 2, maxItems: 2 })),
    "[name, value] pairs in virsh's order, as virsh prints them",
  ),
});
const blockJob = record({ job: blockJobStatusSchema });
const filesystems = record({ filesystems: anyValue("The guest agent's answer: the number of filesystems frozen or thawed") });

export const ROUTE_RESPONSES: Record<string, TSchema> = {
  // Domains
  'GET /v1/domains': record({ domains: list(domainSummarySchema) }),
  'POST /v1/domains': record({ domain: domainRef }),
  'POST /v1/domains/create': record({ domain: record({ name: text(), uuid: text(), id: optional(nullable(integer())) }) }),
  'GET /v1/domains/:ref': record({ domain: domainInfoSchema }),
  'POST /v1/domains/:ref/managedsave': record({ domain: domainState }),
  'DELETE /v1/domains/:ref/managedsave': record({ domain: domainRef, removed: flag('false: the domain had no managed save image') }),
  'GET /v1/domains/:ref/state': record({ name: text(), state: text(), reason: text() }),
  'GET /v1/domains/:ref/xml': xml,
  'GET /v1/domains/:ref/displays': record({ uris: list(displayUriSchema), vnc: optional(text("The VNC display (domdisplay's :N)")) }),
  'DELETE /v1/domains/:ref': record({ domain: domainRef, nvramKept: optional(text('A network NVRAM left in place')) }),
  'POST /v1/domains/:ref/:action': record({ domain: domainState }),
  'GET /v1/domains/:ref/disks': record({
    disks: list(
      record({
        target: text(),
        bus: optional(text()),
        type: optional(text()),
        device: optional(text()),
        source: text(),
        format: optional(text()),
        cache: optional(text()),
        io: optional(nullable(text())),
        readonly: optional(flag()),
        shareable: optional(flag()),
      }),
    ),
  }),
  'PATCH /v1/domains/:ref/disks/:target': record({ domain: domainRef, active: flag('The running domain was changed too') }),
  'POST /v1/domains/:ref/qemu-monitor-command': record({ return: anyValue("QEMU's reply") }),
  'GET /v1/domains/:ref/memory-stats': record({ stats: list(memoryStatSchema) }),
  'PUT /v1/domains/:ref/memory-stats-period': done,
  'PUT /v1/domains/:ref/memory': done,
  // vCPUs and tuning
  'GET /v1/domains/:ref/vcpus/count': record({ count: vcpuCountSchema }),
  'PUT /v1/domains/:ref/vcpus/count': record({ count: vcpuCountSchema }),
  'GET /v1/domains/:ref/vcpus': record({ vcpus: list(vcpuInfoSchema) }),
  'GET /v1/domains/:ref/vcpus/pins': pins,
  'PUT /v1/domains/:ref/vcpus/pins/:vcpu': pins,
  'GET /v1/domains/:ref/emulatorpin': record({ cpuset: text() }),
  'PUT /v1/domains/:ref/emulatorpin': record({ cpuset: text() }),
  'GET /v1/domains/:ref/numatune': record({ numatune: record({ mode: text(), nodeset: text() }) }),
  'GET /v1/domains/:ref/schedinfo': parameters,
  'PUT /v1/domains/:ref/schedinfo': parameters,
  'GET /v1/domains/:ref/blkiotune': parameters,
  'PUT /v1/domains/:ref/blkiotune': parameters,
  'GET /v1/domains/:ref/memtune': parameters,
  // Interfaces
  'GET /v1/domains/:ref/interfaces': record({ interfaces: list(record({ interface: text(), type: text(), source: text(), model: text(), mac: text() })) }),
  'GET /v1/domains/:ref/interfaces/:iface/link': record({ interface: text(), state: choice(['up', 'down']) }),
  'PUT /v1/domains/:ref/interfaces/:iface/link': record({ ok: flag() }),
  'GET /v1/domain-stats': record({ domains: list(record({ name: text(), params: list(typedParamSchema) })) }),
  'GET /v1/domains/:ref/block-stats': record({ stats: blockCountersSchema }),
  'GET /v1/audit': record({ records: list(auditRecordSchema) }),
  'GET /v1/migrations/history': record({ migrations: list(migrationHistoryEntrySchema) }),
  'GET /v1/domains/:ref/interfaces/:iface/stats': record({ stats: interfaceStatsSchema }),
  // Guest agent
  'POST /v1/domains/:ref/agent-command': record({ reply: anyValue("The agent's reply") }),
  'GET /v1/domains/:ref/addresses': record({
    interfaces: list(
      record({ name: text(), hwaddr: nullable(text()), addrs: list(record({ type: optional(text()), addr: optional(text()), prefix: optional(integer()) })) }),
    ),
  }),
  'GET /v1/domains/:ref/guestinfo': record(
    {
      users: optional(anyValue()),
      os: optional(anyValue()),
      timezone: optional(anyValue()),
      hostname: optional(anyValue()),
      filesystems: optional(anyValue()),
    },
    'The groups asked for',
  ),
  'GET /v1/domains/:ref/time': record({ time: anyValue("The guest's clock") }),
  'PUT /v1/domains/:ref/time': done,
  'POST /v1/domains/:ref/fsfreeze': filesystems,
  'POST /v1/domains/:ref/fsthaw': filesystems,
  // Host
  'GET /v1/node': record({ node: nodeInfoSchema }),
  'GET /v1/node/cpu-models': record({ catalog: cpuCatalogSchema }),
  'GET /v1/version': record({ version: versionInfoSchema }),
  'GET /openapi.json': record({ openapi: text(), info: record({}), paths: record({}) }, 'This document'),
  // Secrets
  'GET /v1/secrets': record({ secrets: list(secretSummarySchema) }),
  'POST /v1/secrets': record({ secret: secretSummarySchema }),
  'GET /v1/secrets/:uuid/xml': xml,
  'PUT /v1/secrets/:uuid/value': done,
  'POST /v1/secrets/:uuid/value': record({ value: text('base64, as virsh secret-get-value prints it') }),
  'DELETE /v1/secrets/:uuid': done,
  // Storage
  'GET /v1/pools': record({ pools: list(poolSummarySchema) }),
  'POST /v1/pools': record({ pool: poolDefinition }),
  'POST /v1/pools/define-as': record({ pool: poolDefinition }),
  'GET /v1/pools/:pool': record({ pool: poolSummarySchema }),
  'GET /v1/pools/:pool/xml': xml,
  'POST /v1/pools/:pool/:action': record({ pool: poolSummarySchema }),
  'DELETE /v1/pools/:pool': done,
  'GET /v1/pools/:pool/volumes': record({ volumes: list(volumeInfoSchema) }),
  'POST /v1/pools/:pool/volumes': record({ volume: volumeInfoSchema }),
  'GET /v1/pools/:pool/volumes/:vol': record({ volume: volumeInfoSchema }),
  'DELETE /v1/pools/:pool/volumes/:vol': done,
  'GET /v1/volumes': record({ pool: text(), volume: volumeInfoSchema }),
  // Networks
  'GET /v1/networks': record({ networks: list(networkSummarySchema) }),
  'POST /v1/networks': record({ network: networkSummarySchema }),
  'POST /v1/networks/create': record({ network: networkSummarySchema }),
  'GET /v1/networks/:net': record({ network: networkSummarySchema }),
  'GET /v1/networks/:net/xml': xml,
  'POST /v1/networks/:net/:action': record({ network: nullable(networkSummarySchema) }, 'null: a transient network, gone once destroyed'),
  'DELETE /v1/networks/:net': done,
  // Disks: block copy and hotplug
  'POST /v1/domains/:ref/disks/:dev/copy': blockJob,
  'GET /v1/domains/:ref/disks/:dev/job': blockJob,
  'POST /v1/domains/:ref/disks/:dev/job/:action': done,
  'POST /v1/domains/:ref/disks': done,
  'DELETE /v1/domains/:ref/disks/:target': done,
  'POST /v1/domains/:ref/disks/:target/media': done,
  // Migration, pre-flight checks and leases
  'POST /v1/domains/:ref/migrate-check': record({
    results: list(checkResultSchema),
    failed: list(checkResultSchema),
    warnings: list(checkResultSchema),
    forecast: optional(migrationForecastSchema),
    forecastError: optional(text('Why there is no forecast of a live migration, when gathering it failed')),
  }),
  'GET /v1/locks': record({ leases: list(heldLeaseSchema) }),
  'POST /v1/locks/clear': record({ checked: list(text()), unreachable: list(text()) }),
  'POST /v1/domains/:ref/migrate': record({ migration: migrationResultSchema }),
  'GET /v1/domains/:ref/job': record({ job: jobInfoSchema }),
  'POST /v1/domains/:ref/job/abort': done,
  'POST /v1/domains/:ref/job/postcopy': done,
  'POST /v1/domains/:ref/job/postcopy-resume': done,
  'GET /v1/domains/:ref/migration/speed': record({ bandwidth: num('MiB/s') }),
  'PUT /v1/domains/:ref/migration/speed': done,
  'GET /v1/domains/:ref/migration/max-downtime': record({ downtime: num('ms') }),
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
