import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PEER, peerUrl } from './peer-calls.js';

describe('peerUrl()', () => {
  it('fills the path parameters and the query, encoded as encodeURIComponent does', () => {
    assert.equal(peerUrl(PEER.finish, { params: { id: 'a b/c' } }), '/peer/v1/migrations/a%20b%2Fc/finish');
    assert.equal(peerUrl(PEER.lockHolder, { query: { resource: '/x y+z' } }), '/peer/v1/locks/holder?resource=%2Fx%20y%2Bz');
    assert.equal(peerUrl(PEER.prepare, {}), '/peer/v1/migrations/prepare');
  });

  it('refuses a call whose path parameter is missing or empty (a programmer error)', () => {
    assert.throws(() => peerUrl(PEER.status, {}), TypeError);
    assert.throws(() => peerUrl(PEER.status, { params: { id: '' } }), TypeError);
  });

  it('every path of the table is under /peer/v1, and no two calls share a method and path', () => {
    const keys = Object.values(PEER).map((c) => `${c.method} ${c.path}`);
    assert.ok(keys.every((k) => k.split(' ')[1]?.startsWith('/peer/v1/')));
    assert.equal(new Set(keys).size, keys.length);
  });
});
