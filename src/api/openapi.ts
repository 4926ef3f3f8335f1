import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ERROR_SCHEMA_ID, errorBody, errorRef } from './schemas/response-schema.js';
import { responsesFor } from './schemas/route-responses.js';

/** Where ferryd serves its OpenAPI document (docs/api/openapi.json is the same document, checked in). */
export const OPENAPI_PATH = '/openapi.json';

const TAGS: Array<{ name: string; description: string }> = [
  { name: 'domains', description: "Domains: define, start, stop, inspect, tune (virsh's domain verbs)" },
  { name: 'guest-agent', description: 'The QEMU guest agent inside a domain' },
  { name: 'migration', description: 'Migrations, their jobs and pre-flight checks' },
  { name: 'storage', description: 'Storage pools and volumes' },
  { name: 'networks', description: 'Virtual networks' },
  { name: 'secrets', description: 'Secrets' },
  { name: 'leases', description: 'Disk leases (lock-list, lock-clear)' },
  { name: 'host', description: 'The host: node information, version, events, this document' },
  { name: 'peer', description: 'The peer API: host to host (another ferryd during a migration). Only hosts may call it (docs/security.md)' },
];

const AGENT_ROUTES = /\/(agent-command|addresses|guestinfo|time|fsfreeze|fsthaw)$/;
const MIGRATION_ROUTES = /\/(migrate|migrate-check|job|job\/abort|job\/postcopy|job\/postcopy-resume|migration\/speed|migration\/max-downtime)$/;

/** The tag of a route, from its URL. */
export function routeTag(url: string): string {
  if (url.startsWith('/peer/')) return 'peer';
  if (url.startsWith('/v1/domains')) {
    if (AGENT_ROUTES.test(url)) return 'guest-agent';
    if (MIGRATION_ROUTES.test(url)) return 'migration';
    return 'domains';
  }
  if (url.startsWith('/v1/pools') || url.startsWith('/v1/volumes')) return 'storage';
  if (url.startsWith('/v1/networks')) return 'networks';
  if (url.startsWith('/v1/secrets')) return 'secrets';
  if (url.startsWith('/v1/locks')) return 'leases';
  return 'host';
}

/** A route's operationId, from its method and URL: GET /v1/domains/:ref/xml → getV1DomainsRefXml. */
export function operationId(method: string, url: string): string {
  const words = url.split(/[/:\-_.]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** Gives a route its response schemas (route-responses.ts) unless it has its own, and the error body in any case; an onRoute hook. */
export function withResponses(route: RouteOptions): void {
  if (route.method === 'HEAD') return; // fastify's HEAD twin of a GET: its schema is the GET's
  const method = Array.isArray(route.method) ? route.method[0] : route.method;
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const own = schema.response as Record<string, unknown> | undefined;
  if (own !== undefined) {
    // A route with its own success schema still answers errors with the shared body.
    route.schema = { ...schema, response: { '4xx': errorRef, '5xx': errorRef, ...own } } as RouteOptions['schema'];
    return;
  }
  const response = responsesFor(String(method), route.url);
  if (response !== undefined) route.schema = { ...schema, response } as RouteOptions['schema'];
}

/**
 * Adds the OpenAPI generator (@fastify/swagger, static from the routes'
 * schemas) and GET /openapi.json. Call before any route is registered.
 */
export function registerOpenApi(app: FastifyInstance): void {
  app.addSchema({ $id: ERROR_SCHEMA_ID, ...errorBody });
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ferryd API',
        version: '1',
        description:
          'The API of ferryd, the per-host daemon of ferry. Served over the unix socket (/run/ferry/ferryd.sock), the read-only socket (queries only), ' +
          'mutual TLS and the opt-in TCP listener: docs/api.md shows how to call it, docs/security.md who may call what. Every error is ' +
          '{"error": {"code", "message", "hint", "details"}} (docs/errors.md lists the codes).',
      },
      tags: TAGS,
    },
    // Shared schemas (the error body) keep their $id as their name under components/schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const s = (schema ?? {}) as Record<string, unknown>;
      const method = String([route.method].flat()[0]);
      return { schema: { ...s, tags: [routeTag(url)], operationId: operationId(method, url) } as typeof schema, url };
    },
  });
  // In a plugin of its own, registered after the generator, so that the document describes this route too.
  void app.register(async (scope) => {
    scope.get(OPENAPI_PATH, async () => app.swagger());
  });
}
