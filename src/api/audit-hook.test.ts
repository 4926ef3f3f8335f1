import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditOptions, operationOf } from './audit-hook.js';

describe('operationOf()', () => {
  it("names calls in virsh's words", () => {
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['POST', '/v1/domains', {}, 'define'],
      ['POST', '/v1/domains/create', {}, 'create'],
      ['DELETE', '/v1/domains/:ref', { ref: 'a' }, 'undefine'],
      ['POST', '/v1/domains/:ref/:action', { ref: 'a', action: 'start' }, 'start'],
      ['POST', '/v1/domains/:ref/migrate', { ref: 'a' }, 'migrate'],
      ['POST', '/v1/domains/:ref/job/abort', { ref: 'a' }, 'job-abort'],
      ['POST', '/v1/pools/:pool/:action', { pool: 'p', action: 'build' }, 'pool-build'],
      ['DELETE', '/v1/pools/:pool', { pool: 'p' }, 'pool-undefine'],
      ['POST', '/v1/pools/:pool/volumes', { pool: 'p' }, 'vol-create'],
      ['DELETE', '/v1/pools/:pool/volumes/:vol', { pool: 'p', vol: 'v' }, 'vol-delete'],
      ['POST', '/v1/networks/:net/:action', { net: 'n', action: 'destroy' }, 'net-destroy'],
      ['PUT', '/v1/secrets/:uuid/value', { uuid: 'u' }, 'secret-set-value'],
      ['POST', '/v1/secrets/:uuid/value', { uuid: 'u' }, 'secret-get-value'],
      ['POST', '/peer/v1/migrations/prepare', {}, 'peer-migration-prepare'],
    ];
    for (const [method, route, params, want] of cases) assert.equal(operationOf(method, route, params), want, `${method} ${route}`);
  });
});

describe('auditOptions()', () => {
  it('keeps small options, withholds definitions and secrets, shortens long strings', () => {
    const out = auditOptions({
      paused: true,
      xml: '<domain/>',
      value: 'c2VjcmV0',
      note: 'x'.repeat(300),
      options: { live: true, cookie: { a: 1 } },
      list: [1, 2],
    });
    assert.deepEqual(out, {
      paused: true,
      xml: '(9 characters withheld)',
      value: '(8 characters withheld)',
      note: '(300 characters)',
      options: { live: true, cookie: '(withheld)' },
      list: [1, 2],
    });
  });
});
