import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { RouteOptions } from 'fastify';
import { pino } from 'pino';
import { type AppDeps, buildApp } from './app.js';
import { buildOpenApiDocument, renderOpenApiDocument } from './openapi-document.js';
import { operationId, routeTag } from './openapi.js';
import { DESCRIBED_ROUTES } from './schemas/route-responses.js';

type Schema = Record<string, unknown>;

/** Every route of an app with every service present (stubs: no handler is called unless a test says so). */
async function allRoutes(service: object = {}): Promise<{ routes: Array<{ method: string; url: string; schema: Schema }>; app: ReturnType<typeof buildApp> }> {
  const s = {} as never;
  const deps: AppDeps = {
    service: service as never,
    migrations: s,
    storage: s,
    networks: s,
    blockCopies: s,
    diskHotplug: s,
    locks: s,
    preflight: { service: s, destination: s },
    consoles: s,
    secrets: s,
    audit: { store: s, history: s, credentials: s },
    log: pino({ level: 'silent' }),
  };
  const routes: Array<{ method: string; url: string; schema: Schema }> = [];
  const app = buildApp(
    deps,
    { kind: 'unix' },
    {
      onRoute: (r: RouteOptions) => {
        for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, schema: (r.schema ?? {}) as Schema });
      },
    },
  );
  await app.ready();
  return { routes, app };
}

/** Every object schema inside a schema, with where it is. */
function* objectSchemas(s: unknown, at: string): Generator<[string, Schema]> {
  if (s === null || typeof s !== 'object') return;
  const o = s as Schema;
  if (o.type === 'object' || (Array.isArray(o.type) && o.type.includes('object')) || o.properties !== undefined) yield [at, o];
  for (const [k, v] of Object.entries(o)) yield* objectSchemas(v, `${at}.${k}`);
}

describe('the API as a product: OpenAPI and response schemas', () => {
  it('docs/api/openapi.json is the document the routes generate (regenerate with scripts/gen-openapi.sh)', async () => {
    const checkedIn = readFileSync(new URL('../../../docs/api/openapi.json', import.meta.url), 'utf8');
    assert.equal(checkedIn, renderOpenApiDocument(await buildOpenApiDocument()), 'docs/api/openapi.json is stale: run scripts/gen-openapi.sh');
  });

  it('every route has a response schema: its 2xx (or 101) body and the error body for 4xx and 5xx', async () => {
    const { routes, app } = await allRoutes();
    await app.close();
    assert.ok(routes.length > 90, `only ${routes.length} routes`);
    const missing = routes
      .filter((r) => {
        const response = r.schema.response as Schema | undefined;
        if (!response) return true;
        const ok = Object.keys(response).some((k) => /^(2\d\d|101)$/.test(k));
        return !ok || !response['4xx'] || !response['5xx'];
      })
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'add these to src/api/schemas/route-responses.ts');
    // And the table names no route that does not exist (a renamed route would lose its schema without a word).
    const registered = new Set(routes.map((r) => `${r.method} ${r.url}`));
    assert.deepEqual(
      DESCRIBED_ROUTES.filter((k) => !registered.has(k)),
      [],
    );
  });

  it('no response schema closes an object: a field it does not name is never dropped', async () => {
    const { routes, app } = await allRoutes();
    await app.close();
    const closed: string[] = [];
    for (const r of routes) {
      for (const [at, o] of objectSchemas(r.schema.response, `${r.method} ${r.url}`)) {
        if (o.additionalProperties === false) closed.push(at);
      }
    }
    assert.deepEqual(closed, []);
  });

  it('a field the schema does not name, or names with another type, reaches the client as the handler returned it', async () => {
    const extra = {
      uuid: 'u',
      name: 'a',
      domainId: null,
      state: 'shutoff',
      reason: null,
      persistent: true,
      autostart: false,
      newField: { deep: [1, 2] },
      cpuTime: 1.5,
    };
    const { app } = await allRoutes({ list: () => [extra] });
    const res = await app.inject({ url: '/v1/domains?all=true' });
    await app.close();
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { domains: [extra] });
  });

  it('the document tags the peer API (host to host) apart from the client API', async () => {
    const doc = await buildOpenApiDocument();
    const paths = doc.paths as Record<string, Record<string, { tags: string[] }>>;
    const peer = Object.keys(paths).filter((p) => p.startsWith('/peer/'));
    assert.ok(peer.length >= 5);
    for (const p of peer) for (const op of Object.values(paths[p] ?? {})) assert.deepEqual(op.tags, ['peer'], p);
    for (const p of Object.keys(paths).filter((x) => !x.startsWith('/peer/'))) {
      for (const op of Object.values(paths[p] ?? {})) assert.notDeepEqual(op.tags, ['peer'], p);
    }
    assert.equal(routeTag('/v1/domains/:ref/migrate'), 'migration');
    // operationIds, for client generators: one per operation, all different.
    const ids = Object.values(paths).flatMap((p) => Object.values(p).map((op) => (op as unknown as { operationId: string }).operationId));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(operationId('GET', '/v1/domains/:ref/memory-stats'), 'getV1DomainsRefMemoryStats');
    assert.equal(routeTag('/v1/domains/:ref/guestinfo'), 'guest-agent');
    // The error body is one shared schema, referred to by every route.
    assert.ok((doc.components as { schemas: Record<string, unknown> }).schemas.FerryError);
  });
});
