import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type RegisteredRoute, STUB_REACHED, stubApp } from '../../../test/helpers/stub-app.js';
import { KNOWN_COOKIE_SECTIONS } from '../../migration/cookie.js';
import { migrationCookieSchema } from '../../shared/peer-protocol/migration-messages.js';
import { sample, sampleUrl, type Schema } from '../../../test/helpers/schema-sample.js';

/** Object schemas that stay open on purpose: the cookie's top level (optional sections of newer sources). */
const OPEN_ON_PURPOSE = new Set(['POST /peer/v1/migrations/prepare body.cookie']);

const isObject = (s: Schema): boolean => s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object'));

/** Every object node of a schema with its path ('' is the root), following the shapes sample() builds. */
function objectNodes(s: Schema, path: string[] = []): Array<{ path: string[]; schema: Schema }> {
  const out: Array<{ path: string[]; schema: Schema }> = [];
  if (s.oneOf) return objectNodes(s.oneOf[0] as Schema, path);
  if (isObject(s) && s.properties) {
    out.push({ path, schema: s });
    for (const [k, v] of Object.entries(s.properties)) out.push(...objectNodes(v, [...path, k]));
  }
  if (s.type === 'array' && s.items) out.push(...objectNodes(s.items, [...path, '0']));
  return out;
}

function numericNodes(s: Schema, path: string[] = []): Array<{ path: string[]; schema: Schema }> {
  if (s.oneOf) return numericNodes(s.oneOf[0] as Schema, path);
  if (s.type === 'integer' || s.type === 'number') return [{ path, schema: s }];
  const out: Array<{ path: string[]; schema: Schema }> = [];
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...numericNodes(v, [...path, k]));
  if (s.type === 'array' && s.items) out.push(...numericNodes(s.items, [...path, '0']));
  return out;
}

const urlOf = sampleUrl;

function setAt(body: unknown, path: string[], value: unknown): void {
  let o = body as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path[path.length - 1] as string] = value;
}

function getAt(body: unknown, path: string[]): Record<string, unknown> {
  let o = body as Record<string, unknown>;
  for (const k of path) o = o[k] as Record<string, unknown>;
  return o;
}

/** Every route's body schema, walked: unknown keys are refused naming them, numbers have their bounds. */
describe('route schemas', () => {
  let app: FastifyInstance;
  let routes: RegisteredRoute[];
  before(async () => ({ app, routes } = await stubApp()));
  after(() => app.close());

  const withBody = (): RegisteredRoute[] => routes.filter((r) => r.schema?.body);

  it('every route is collected, and the routes with a body have a closed schema at every level', () => {
    assert.ok(routes.length >= 40, `only ${routes.length} routes collected`);
    assert.ok(withBody().length >= 20);
    const open: string[] = [];
    for (const r of withBody()) {
      for (const node of objectNodes(r.schema?.body as Schema)) {
        const where = `${r.method} ${r.url} ${['body', ...node.path].join('.')}`;
        if (node.schema.additionalProperties !== false && !OPEN_ON_PURPOSE.has(where)) open.push(where);
      }
    }
    assert.deepEqual(open, []);
    for (const r of routes) {
      if (r.schema?.querystring) assert.equal((r.schema.querystring as Schema).additionalProperties, false, `${r.method} ${r.url} querystring`);
    }
  });

  it('a sample body of each schema gets through validation to the service (the probe below is sound)', async () => {
    for (const r of withBody()) {
      const res = await app.inject({ method: r.method as 'POST', url: urlOf(r), payload: sample(r.schema?.body as Schema) as object });
      assert.equal(res.json().error?.code, STUB_REACHED, `${r.method} ${r.url}: ${res.body}`);
    }
  });

  it('an unknown key at any level of any body is refused with INVALID_ARGUMENT naming it', async () => {
    let probes = 0;
    for (const r of withBody()) {
      for (const node of objectNodes(r.schema?.body as Schema)) {
        if (node.schema.additionalProperties !== false) continue;
        const body = sample(r.schema?.body as Schema);
        getAt(body, node.path).Bogus = true;
        const res = await app.inject({ method: r.method as 'POST', url: urlOf(r), payload: body as object });
        const where = `${r.method} ${r.url} ${node.path.join('.')}`;
        assert.equal(res.statusCode, 400, `${where}: ${res.body}`);
        assert.equal(res.json().error.code, 'INVALID_ARGUMENT', where);
        assert.ok(res.json().error.message.includes(`unknown field '${[...node.path, 'Bogus'].join('.')}'`), `${where}: ${res.json().error.message}`);
        probes++;
      }
    }
    assert.ok(probes >= 40, `${probes} probes`);
  });

  it('{"options":{"Live":true}} is refused, naming Live, and nothing is migrated', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/domains/web/migrate', payload: { destUri: 'ferry+tls://b/system', options: { Live: true } } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.message, "invalid request: unknown field 'options.Live' in the request body");
  });

  it('every number in a body has a minimum and a maximum, and a value below the minimum is refused naming the field', async () => {
    for (const r of withBody()) {
      for (const n of numericNodes(r.schema?.body as Schema)) {
        const where = `${r.method} ${r.url} ${n.path.join('.')}`;
        if (r.url === '/peer/v1/preflight' && n.path.join('.') === 'request.source.t0') continue; // a clock reading: any number
        assert.equal(typeof n.schema.minimum, 'number', `${where} has no minimum`);
        assert.equal(typeof n.schema.maximum, 'number', `${where} has no maximum`);
        const body = sample(r.schema?.body as Schema);
        setAt(body, n.path, (n.schema.minimum as number) - 1);
        const res = await app.inject({ method: r.method as 'POST', url: urlOf(r), payload: body as object });
        assert.equal(res.statusCode, 400, `${where}: ${res.body}`);
        assert.match(res.json().error.message, new RegExp(`field '${n.path.join('.').replace(/\./g, '\\.')}' of the request body must be >= `), where);
      }
    }
    const zero = await app.inject({ method: 'PUT', url: '/v1/domains/web/migration/max-downtime', payload: { downtime: 0 } });
    assert.equal(zero.json().error.message, "invalid request: field 'downtime' of the request body must be >= 1");
  });

  it('unknown query parameters are refused too', async () => {
    const res = await app.inject({ url: '/v1/domains?al=true' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.message, "invalid request: unknown field 'al' in the query string");
  });

  it('the cookie schema types every section the destination knows', () => {
    for (const s of KNOWN_COOKIE_SECTIONS) assert.ok(s in migrationCookieSchema.properties, s);
  });
});
