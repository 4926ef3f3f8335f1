import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { PEER } from '../shared/peer-protocol/peer-calls.js';
import { parseConnectionUri } from '../transport/connection-uri.js';
import { endpointFor } from '../transport/endpoint.js';
import { notDelivered, PeerClient } from './peer-client.js';

/** A peer that answers every request with these raw bytes (Node's own 408 has no body). */
async function rawPeer(dir: string, reply: string): Promise<{ client: PeerClient; close: () => void }> {
  const socket = join(dir, `p${Math.random().toString(36).slice(2, 8)}.sock`);
  const server = net.createServer((s) => s.once('data', () => s.end(reply)));
  await new Promise<void>((r) => server.listen(socket, r));
  return { client: new PeerClient(endpointFor(parseConnectionUri(`ferry:///system?socket=${socket}`)), 5000), close: () => server.close() };
}

describe('PeerClient: error replies that are not ferryd errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-peer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a 408 from the HTTP server (the request did not arrive in time: a stalled link) is 'not delivered', never 'unknown error'", async () => {
    const p = await rawPeer(dir, 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    try {
      await assert.rejects(p.client.call(PEER.status, { params: { id: 'm1' } }), (e: unknown) => {
        assert.ok(e instanceof FerryError);
        assert.equal(e.code, 'MIG_PEER_UNREACHABLE');
        assert.match(e.message, /timed out the request before it arrived whole \(HTTP 408\): the link to it stalled/);
        assert.equal(notDelivered(e), true);
        return true;
      });
    } finally {
      p.close();
    }
  });

  it('another status without a ferryd error body says its status; a ferryd error keeps its code', async () => {
    const bare = await rawPeer(dir, 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    const own = JSON.stringify({ error: { code: 'MIG_NOT_FOUND', message: 'migration m1 is unknown on this host', hint: 'h', details: {} } });
    const ferryd = await rawPeer(
      dir,
      `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${own.length}\r\nConnection: close\r\n\r\n${own}`,
    );
    try {
      await assert.rejects(
        bare.client.call(PEER.status, { params: { id: 'm1' } }),
        (e: unknown) => e instanceof FerryError && e.code === 'MIG_PEER_REFUSED' && /answered HTTP 502 without a ferryd error/.test(e.message),
      );
      await assert.rejects(ferryd.client.call(PEER.status, { params: { id: 'm1' } }), (e: unknown) => e instanceof FerryError && e.code === 'MIG_NOT_FOUND');
    } finally {
      bare.close();
      ferryd.close();
    }
  });
});
