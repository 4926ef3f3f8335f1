import { pino } from 'pino';
import { type AppDeps, buildApp } from './app.js';

/**
 * The OpenAPI document of every route ferryd can serve, built from the
 * routes' schemas with no daemon behind them: the services are never called,
 * only the routes registered. scripts/gen-openapi.sh writes it to
 * docs/api/openapi.json; a ferryd with all its services serves the same at
 * GET /openapi.json.
 */
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const unused = {} as never;
  const deps: AppDeps = {
    service: unused,
    migrations: unused,
    storage: unused,
    networks: unused,
    blockCopies: unused,
    diskHotplug: unused,
    locks: unused,
    preflight: { service: unused, destination: unused },
    consoles: unused,
    secrets: unused,
    audit: { store: unused, history: unused, credentials: unused },
    log: pino({ level: 'silent' }),
  };
  const app = buildApp(deps);
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

/** The document as the checked-in file holds it: two-space JSON and a final newline. */
export function renderOpenApiDocument(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
