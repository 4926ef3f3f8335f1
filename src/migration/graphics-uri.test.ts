import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseGraphicsUri } from '../common/graphics-uri.js';
import { spiceTarget } from './graphics-uri.js';

describe('parseGraphicsUri()', () => {
  it('reads spice://HOST[:PORT][?tlsPort=N] as virsh does', () => {
    assert.deepEqual(parseGraphicsUri('spice://host-b:5905'), { hostname: 'host-b', port: 5905 });
    assert.deepEqual(parseGraphicsUri('spice://[::1]?tlsPort=5906'), { hostname: '::1', tlsPort: 5906 });
  });
  it('refuses other schemes and bad ports with INVALID_ARGUMENT', () => {
    for (const bad of ['vnc://host-b:0', 'spice://host-b?tlsPort=0', 'not a uri']) {
      assert.throws(
        () => parseGraphicsUri(bad),
        (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT',
        bad,
      );
    }
  });
});

describe('spiceTarget()', () => {
  it("defaults to the destination display's address and port, the destination host for a wildcard", () => {
    assert.deepEqual(spiceTarget([{ type: 'spice', address: '10.0.0.2', port: 5901 }], 'host-b'), { hostname: '10.0.0.2', port: 5901 });
    assert.deepEqual(spiceTarget([{ type: 'spice', address: '0.0.0.0', port: 5901 }], 'host-b'), { hostname: 'host-b', port: 5901 });
  });
  it('lets --graphicsuri override any part, and is undefined without SPICE', () => {
    assert.deepEqual(spiceTarget([{ type: 'spice', address: '10.0.0.2', port: 5901 }], 'host-b', { hostname: 'proxy' }), { hostname: 'proxy', port: 5901 });
    assert.equal(spiceTarget([{ type: 'vnc', address: '10.0.0.2', port: 5901 }], 'host-b'), undefined);
  });
});
