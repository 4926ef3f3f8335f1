import type { FastifyInstance, RouteOptions } from 'fastify';
import { pino } from 'pino';
import { type AppDeps, buildApp, type ListenerOptions } from '../../src/api/app.js';
import { FerryError } from '../../src/errors/ferry-error.js';

/** A route as registered: its method and pattern, and its schema. */
export interface RegisteredRoute {
  method: string;
  url: string;
  schema: RouteOptions['schema'];
}

/** Any call on a stub service fails with this code: a handler was reached. */
export const STUB_REACHED = 'NOT_SUPPORTED';

/** A service whose every method, at any depth (deps.store.get()), throws STUB_REACHED. */
function stub(path = 'service'): never {
  const fn = (): never => {
    throw new FerryError(STUB_REACHED, `stub ${path} reached`);
  };
  return new Proxy(fn, { get: (_t, key) => (key === 'then' ? undefined : stub(`${path}.${String(key)}`)) }) as never;
}

/**
 * The real API (every route, the real access rules, schemas and error
 * handler) over stub services that refuse every call: for tests of what the
 * HTTP layer lets through. The routes are collected as fastify registers them.
 */
export async function stubApp(listener: ListenerOptions = { kind: 'unix' }): Promise<{ app: FastifyInstance; routes: RegisteredRoute[] }> {
  const deps: AppDeps = {
    service: stub(),
    migrations: stub(),
    storage: stub(),
    networks: stub(),
    blockCopies: stub(),
    locks: stub(),
    preflight: { service: stub(), destination: stub() },
    consoles: stub(),
    log: pino({ level: 'silent' }),
  };
  const routes: RegisteredRoute[] = [];
  const app = buildApp(deps, listener, {
    onRoute: (r) => {
      for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, schema: r.schema });
    },
  });
  await app.ready();
  return { app, routes };
}
