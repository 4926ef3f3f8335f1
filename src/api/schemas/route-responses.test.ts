import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { domainInfoSchema, domainSummarySchema, migrationResultSchema, poolSummarySchema, versionInfoSchema } from '../../shared/api-types.js';
import { cpuCatalogSchema } from '../../shared/cpu-catalog.js';
import { jobInfoSchema } from '../../shared/job-info.js';
import { heldLeaseSchema } from '../../shared/lease.js';
import { checkResultSchema } from '../../shared/peer-protocol/preflight-messages.js';
import { volumeInfoSchema } from '../../shared/volume.js';
import { ROUTE_RESPONSES } from './route-responses.js';

/** The schema at a path of properties (and `items` of arrays) inside a route's reply. */
function at(route: string, ...path: string[]): unknown {
  let s = ROUTE_RESPONSES[route] as TSchema | undefined;
  assert.ok(s, `no reply schema for ${route}`);
  for (const p of path) s = (p === '[]' ? s.items : s.properties?.[p]) as TSchema;
  return s;
}

describe('ROUTE_RESPONSES', () => {
  it('documents the replies the CLI reads with the shared schemas their types come from', () => {
    assert.equal(at('GET /v1/domains', 'domains', '[]'), domainSummarySchema);
    assert.equal(at('GET /v1/domains/:ref', 'domain'), domainInfoSchema);
    assert.equal(at('GET /v1/domains/:ref/job', 'job'), jobInfoSchema);
    assert.equal(at('POST /v1/domains/:ref/migrate', 'migration'), migrationResultSchema);
    assert.equal(at('POST /v1/domains/:ref/migrate-check', 'failed', '[]'), checkResultSchema);
    assert.equal(at('GET /v1/pools', 'pools', '[]'), poolSummarySchema);
    assert.equal(at('GET /v1/pools/:pool/volumes', 'volumes', '[]'), volumeInfoSchema);
    assert.equal(at('GET /v1/locks', 'leases', '[]'), heldLeaseSchema);
    assert.equal(at('GET /v1/node/cpu-models', 'catalog'), cpuCatalogSchema);
    assert.equal(at('GET /v1/version', 'version'), versionInfoSchema);
  });
});
