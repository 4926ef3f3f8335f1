import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { REPO_ROOT } from '../../helpers/guest.js';
import { sample, type Schema } from '../../helpers/schema-sample.js';
import { BASELINE, ensureBaseline } from '../baseline.js';
import { assertCodedRefusal, assertNoInternalError, assertStateUnchanged } from '../invariants.js';
import type { Surface } from '../surface.js';
import type { FuzzTarget } from '../target.js';
import { edgeValue } from '../xml-mutation.js';

interface Parameter {
  in: 'path' | 'query';
  name: string;
  schema: Schema;
}

/** One route of the OpenAPI document. */
export interface Route {
  method: string;
  template: string;
  parameters: Parameter[];
  body?: Schema;
}

/**
 * The routes the fuzzer drives: every one in docs/api/openapi.json but GET /v1/events, a stream that
 * answers by never ending (its bad input, the query, is refused before it starts: the API surface
 * covers it through the same validation as every other route's).
 */
export function documentedRoutes(): Route[] {
  const doc = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/api/openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  };
  const routes: Route[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (template === '/v1/events') continue;
      const body = op.requestBody?.content['application/json']?.schema;
      routes.push({ method: method.toUpperCase(), template, parameters: op.parameters ?? [], ...(body ? { body } : {}) });
    }
  }
  return routes;
}

/** One generated request: a route, a value per path parameter, a query, a body, and sometimes another method. */
export interface ApiInput {
  route: Route;
  method: string;
  pathValues: string[];
  query: [string, string][];
  body?: string;
}

/** encodeURIComponent for any string: a lone surrogate (which encodeURIComponent refuses) goes as U+FFFD's bytes. */
function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

const KNOWN_NAMES = [BASELINE.domain, BASELINE.domainUuid, BASELINE.network, BASELINE.networkUuid, BASELINE.pool, BASELINE.poolUuid, '1', '0', '-1'];
const RAW_SEGMENTS = ['%', '%zz', '..', '.', '%2e%2e', '%00', '%2F', '%2f..%2f', '%C3%28', '%ED%A0%80', '%FF', '%E2%80%AE', 'a%20b'];

function pathValue(p: Parameter): fc.Arbitrary<string> {
  const encoded = fc.oneof(edgeValue, fc.constantFrom(...KNOWN_NAMES)).map(percentEncode);
  const choices: fc.Arbitrary<string>[] = [encoded, fc.constantFrom(...RAW_SEGMENTS)];
  if (p.schema.enum) choices.push(fc.constantFrom(...p.schema.enum));
  return fc.oneof(...choices);
}

function queryValue(p: Parameter | undefined): fc.Arbitrary<string> {
  const choices: fc.Arbitrary<string>[] = [edgeValue, fc.constantFrom('true', 'false', '1', '0', '', BASELINE.domain)];
  if (p?.schema.enum) choices.push(fc.constantFrom(...p.schema.enum));
  return fc.oneof(...choices);
}

/** A JSON value of any shape, at the edges of what a schema field holds. */
const edgeJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  edgeValue,
  fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 0.5, null, true, [], {}, { __proto__: { x: 1 } }, { constructor: { prototype: {} } }),
);

/** The schema's sample, then its fields dropped, replaced or joined by unknown ones. */
function mutatedBody(schema: Schema): fc.Arbitrary<unknown> {
  const base = sample(schema);
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return edgeJson;
  const keys = Object.keys(base);
  const edit = fc.oneof(
    fc.record({ op: fc.constant('drop' as const), key: fc.nat() }),
    fc.record({ op: fc.constant('set' as const), key: fc.nat(), value: edgeJson }),
    fc.record({
      op: fc.constant('add' as const),
      name: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString')),
      value: edgeJson,
    }),
  );
  return fc.array(edit, { maxLength: 4 }).map((edits) => {
    const o: Record<string, unknown> = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
    for (const e of edits) {
      const key = keys.length ? (keys[('key' in e ? e.key : 0) % keys.length] as string) : 'x';
      if (e.op === 'drop') delete o[key];
      else if (e.op === 'set') o[key] = e.value;
      else Object.defineProperty(o, e.name, { value: e.value, enumerable: true, configurable: true, writable: true });
    }
    return o;
  });
}

function bodyText(route: Route): fc.Arbitrary<string | undefined> {
  const garbage = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('{', '{"a":', '[1,2', 'null', '"x"', '{"__proto__":{"admin":true}}', '{"a":1,"a":2}', '1e999999'),
  );
  return fc.oneof(
    { weight: route.body ? 6 : 1, arbitrary: route.body ? mutatedBody(route.body).map((v) => JSON.stringify(v)) : fc.constant(undefined) },
    { weight: 2, arbitrary: edgeJson.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: garbage },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

export function apiInput(routes: Route[]): fc.Arbitrary<ApiInput> {
  return fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      method: fc.oneof(
        { weight: 9, arbitrary: fc.constant(route.method) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
      ),
      pathValues: fc.tuple(...route.parameters.filter((p) => p.in === 'path').map(pathValue)),
      query: fc.array(
        fc.oneof(
          ...route.parameters.filter((p) => p.in === 'query').map((p) => fc.tuple(fc.constant(p.name), queryValue(p))),
          fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'all[]')), queryValue(undefined)),
        ),
        { maxLength: 4 },
      ),
      body: bodyText(route),
    }),
  );
}

export function concretePath(input: ApiInput): string {
  let i = 0;
  const path = input.route.template.replace(/\{(\w+)\}/g, () => input.pathValues[i++] ?? 'x');
  const query = input.query.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
  return query ? `${path}?${query}` : path;
}

/**
 * Requests that, accepted, would act on the host rather than on ferryd's records: starting the baseline
 * domain (a QEMU) or network (a bridge), or a migration towards whatever host a fuzzed field names. Left out.
 */
export function actsOnHost(input: ApiInput): boolean {
  const path = concretePath(input);
  if (/^\/v1\/(domains|networks)\/create/.test(path)) return true;
  if (/\/v1\/(domains|networks)\/[^/]+\/start(\?|$)/.test(path)) return true;
  if (/\/migrate(-check)?(\?|$)/.test(path)) return input.pathValues.some((v) => v === BASELINE.domain || v === BASELINE.domainUuid);
  return input.method === 'POST' && /^\/peer\/v1\/(preflight|migrations\/prepare)/.test(path);
}

/** Every documented route with generated path, query and body; a refusal is coded and changes nothing. */
export function apiSurface(target: FuzzTarget, expected: { state: string }): Surface<ApiInput> {
  return {
    name: 'api',
    arbitrary: apiInput(documentedRoutes()).filter((i) => !actsOnHost(i)),
    describe: (input) => `${input.method} ${concretePath(input)}\nbody: ${input.body ?? '(none)'}`,
    async check(input) {
      const r = await target.request(input.method, concretePath(input), input.body);
      const what = `${input.method} ${concretePath(input)}`;
      if (r.status >= 400) {
        // A HEAD answer has no body (RFC 9110): only its status can say what went wrong.
        if (input.method === 'HEAD') assertNoInternalError(what, r);
        else assertCodedRefusal(what, r);
        await assertStateUnchanged(target, expected.state, `${what} refused with ${r.code}`);
        return { refused: r.code ?? `HTTP ${r.status}` };
      }
      await ensureBaseline(target);
      expected.state = await target.snapshot();
      return 'accepted';
    },
  };
}
