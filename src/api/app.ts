import type http from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController, type RouteOptions } from 'fastify';
import { enforceAccess, type ListenerKind } from './access.js';
import type { Logger } from 'pino';
import type { HostService } from '../host/host-service.js';
import type { MigrationService } from '../migration/migration-service.js';
import { ferryErrorHandler } from './error-handler.js';
import { domainRoutes } from './routes/domains.js';
import { managedSaveRoutes } from './routes/managed-save.js';
import { vcpuRoutes } from './routes/vcpus.js';
import { tuningRoutes } from './routes/tuning.js';
import { agentRoutes } from './routes/agent.js';
import { migrationRoutes } from './routes/migration.js';
import { storageRoutes } from './routes/storage.js';
import { networkRoutes } from './routes/networks.js';
import type { NetworkService } from '../network/network-service.js';
import { blockJobRoutes } from './routes/block-jobs.js';
import { diskHotplugRoutes } from './routes/disk-hotplug.js';
import { lockRoutes } from './routes/locks.js';
import { preflightRoutes } from './routes/preflight.js';
import { peerLockRoutes } from './routes/peer-locks.js';
import { peerMigrationRoutes } from './routes/peer-migrations.js';
import { peerPreflightRoutes } from './routes/peer-preflight.js';
import type { PreflightService } from '../preflight/preflight-service.js';
import type { DestinationCheckDeps } from '../preflight/destination-checks.js';
import type { LockService } from '../host/lock-service.js';
import type { BlockCopyService } from '../host/block-copy.js';
import type { DiskHotplugService } from '../host/disk-hotplug.js';
import { InterfaceService } from '../host/interface-service.js';
import { interfaceRoutes } from './routes/interfaces.js';
import type { StorageService } from '../storage/storage-service.js';
import { eventRoutes } from './routes/events.js';
import { nodeRoutes } from './routes/node.js';
import { consoleRoutes } from './routes/console.js';
import type { ConsoleService } from '../console/console-service.js';
import { routeUpgrades } from './upgrade.js';
import { secretRoutes } from './routes/secrets.js';
import { registerOpenApi, withResponses } from './openapi.js';
import type { SecretService } from '../secrets/secret-service.js';
import { DomainStatsReader } from '../host/domain-stats.js';
import { statsRoutes } from './routes/stats.js';
import type { ApiMetrics } from '../metrics/ferry-metrics.js';
import { recordAudit } from './audit-hook.js';
import { auditRoutes } from './routes/audit.js';
import type { AuditStore } from '../store/audit-store.js';
import type { MigrationHistory } from '../store/migration-history.js';
import type { PeerCredentialReader } from '../system/peer-credentials.js';

export interface AppDeps {
  service: HostService;
  migrations?: MigrationService;
  storage?: StorageService;
  networks?: NetworkService;
  blockCopies?: BlockCopyService;
  diskHotplug?: DiskHotplugService;
  locks?: LockService;
  preflight?: { service: PreflightService; destination: DestinationCheckDeps };
  consoles?: ConsoleService;
  secrets?: SecretService;
  /** API latency by route (the /metrics listener); absent: not recorded. */
  metrics?: ApiMetrics;
  /** The audit trail and the migration history (docs/audit.md); absent: nothing recorded. */
  audit?: { store: AuditStore; history: MigrationHistory; credentials: PeerCredentialReader };
  log: Logger;
}

/** The largest request body: room for the largest domain XML ferry reads (1 MiB) JSON-escaped, inside a migration cookie. */
export const API_BODY_LIMIT = 4 * 1024 * 1024;

/** How one listener serves the API: which kind of connection it takes (for access control), and its server (TLS, limits). */
export interface ListenerOptions {
  kind: ListenerKind;
  /** Makes the listener's HTTP(S) server (daemon/limited-server.ts); fastify's own plain server when absent (tests). */
  serverFactory?: (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) => http.Server;
}

/**
 * Builds the HTTP API (not listening) for one listener: tests call
 * app.inject(), the daemon listens on its sockets and its TLS address. Every
 * listener serves the same routes; enforceAccess() decides who may use which.
 */
export function buildApp(
  deps: AppDeps,
  listener: ListenerOptions = { kind: 'unix' },
  hooks: { onRoute?: (route: RouteOptions) => void } = {},
): FastifyInstance {
  const onError = ferryErrorHandler(deps.log, { bodyLimit: API_BODY_LIMIT });
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api', listener: listener.kind }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: API_BODY_LIMIT,
    // fastify's default drops unknown keys without a word ({"options":{"Live":true}} ran a non-live migration): refuse them instead.
    ajv: { customOptions: { removeAdditional: false } },
    ...(listener.serverFactory ? { serverFactory: listener.serverFactory } : {}),
    // Closing ends every connection, event streams included: a client holding one open must not keep ferryd from stopping.
    forceCloseConnections: true,
    // The errors fastify finds before routing (a URL whose %-escapes do not decode: FST_ERR_BAD_URL) leave as every other error does.
    frameworkErrors: onError,
  }) as unknown as FastifyInstance;
  // Responses are written with JSON.stringify: a response schema documents (docs/api/openapi.json) and never drops or coerces a field.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRoute', withResponses);
  if (hooks.onRoute) app.addHook('onRoute', hooks.onRoute);
  registerOpenApi(app);
  // Before the access checks, so that refused calls are recorded too.
  if (deps.audit) {
    const { store, credentials } = deps.audit;
    recordAudit(
      app,
      listener.kind,
      {
        store,
        credentials,
        domainOf: (ref) => {
          const rec = deps.service.lookup(ref);
          return { name: rec.name, uuid: rec.uuid };
        },
        migrationDomainOf: (id) => deps.audit?.history.list({ id })[0],
      },
      deps.log,
    );
  }
  enforceAccess(app, listener.kind, deps.log);
  routeUpgrades(app);
  app.setErrorHandler(onError);
  const metrics = deps.metrics;
  if (metrics) {
    // The route's pattern (/v1/domains/:ref), never the raw URL: one series per route, whatever the domain names.
    app.addHook('onResponse', async (req, reply) => {
      metrics.apiRequest({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, seconds: reply.elapsedTime / 1000 });
    });
  }
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: {
        code: 'NOT_SUPPORTED',
        message: `no such API route: ${request.method} ${request.url}`,
        hint: 'Is the CLI newer than the daemon? Compare "ferry version --daemon"',
        details: {},
      },
    });
  });
  void app.register(domainRoutes(deps.service), { prefix: '/v1' });
  void app.register(managedSaveRoutes(deps.service), { prefix: '/v1' });
  void app.register(vcpuRoutes(deps.service), { prefix: '/v1' });
  void app.register(tuningRoutes(deps.service), { prefix: '/v1' });
  void app.register(interfaceRoutes(new InterfaceService({ host: deps.service })), { prefix: '/v1' });
  void app.register(statsRoutes(new DomainStatsReader(deps.service)), { prefix: '/v1' });
  void app.register(agentRoutes(deps.service), { prefix: '/v1' });
  void app.register(nodeRoutes(deps.service), { prefix: '/v1' });
  void app.register(eventRoutes(deps.service), { prefix: '/v1' });
  if (deps.audit) void app.register(auditRoutes({ audit: deps.audit.store, history: deps.audit.history }), { prefix: '/v1' });
  if (deps.consoles) void app.register(consoleRoutes(deps.consoles), { prefix: '/v1' });
  if (deps.secrets) void app.register(secretRoutes(deps.secrets), { prefix: '/v1' });
  if (deps.storage) void app.register(storageRoutes(deps.storage), { prefix: '/v1' });
  if (deps.networks) void app.register(networkRoutes(deps.networks), { prefix: '/v1' });
  if (deps.blockCopies) void app.register(blockJobRoutes(deps.blockCopies), { prefix: '/v1' });
  if (deps.diskHotplug) void app.register(diskHotplugRoutes(deps.diskHotplug), { prefix: '/v1' });
  if (deps.preflight) {
    void app.register(preflightRoutes(deps.preflight.service), { prefix: '/v1' });
    void app.register(peerPreflightRoutes(deps.preflight.destination));
  }
  if (deps.locks) {
    void app.register(lockRoutes(deps.locks), { prefix: '/v1' });
    void app.register(peerLockRoutes(deps.locks));
  }
  if (deps.migrations) {
    void app.register(migrationRoutes(deps.migrations), { prefix: '/v1' });
    void app.register(peerMigrationRoutes(deps.migrations));
  }
  return app;
}
