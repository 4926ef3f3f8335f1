import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConnectionUri } from './connection-uri.js';
import { endpointFor } from './endpoint.js';
import { explainTransportFailure, httpCall, TransportFailure } from './http-call.js';

describe('httpCall() over kept-alive connections', () => {
  let server: http.Server;
  let port = 0;
  let connections = 0;
  /** The next request's connection is dropped without an answer (a daemon that died while handling it). */
  let dropNext = false;

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (dropNext) {
          dropNext = false;
          req.socket.destroy();
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
  });

  const target = () => parseConnectionUri(`ferry+tcp://127.0.0.1:${port}/system`);

  it('a keep-alive endpoint sends its calls over one connection; a plain one opens one per call', async () => {
    const kept = endpointFor(target(), { keepAliveMs: 5000 });
    connections = 0;
    for (let i = 0; i < 3; i++) assert.equal((await httpCall(kept, { method: 'POST', path: '/x', body: {} })).status, 200);
    assert.equal(connections, 1);
    kept.close();
    const plain = endpointFor(target());
    connections = 0;
    for (let i = 0; i < 3; i++) await httpCall(plain, { method: 'GET', path: '/x' });
    assert.equal(connections, 3);
  });

  it('a call that fails on a reused connection may have reached the daemon (connected); a refused one did not', async () => {
    const kept = endpointFor(target(), { keepAliveMs: 5000 });
    await httpCall(kept, { method: 'POST', path: '/prepare', body: {} });
    dropNext = true;
    const err = await httpCall(kept, { method: 'POST', path: '/finish', body: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransportFailure, String(err));
    assert.equal(err.connected, true, 'the request went out on a live connection');
    kept.close();
    const closed = endpointFor(parseConnectionUri('ferry+tcp://127.0.0.1:1/system'), { keepAliveMs: 5000 });
    const refused = await httpCall(closed, { method: 'POST', path: '/x', body: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(refused instanceof TransportFailure);
    assert.equal(refused.connected, false);
    closed.close();
  });

  it('a GET whose kept-alive connection breaks before any reply is asked once more on a new connection (it changes nothing)', async () => {
    const kept = endpointFor(target(), { keepAliveMs: 5000 });
    await httpCall(kept, { method: 'GET', path: '/status' });
    connections = 0;
    dropNext = true;
    const r = await httpCall(kept, { method: 'GET', path: '/status' });
    assert.equal(r.status, 200);
    assert.equal(connections, 1, 'the second try went over a new connection');
    kept.close();
  });
});

describe('explainTransportFailure()', () => {
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  it('names the certificate as a cause of a closed connection only where TLS is (or may be) in use', () => {
    assert.equal(explainTransportFailure(reset, { tls: false }), 'the connection was closed by the other side');
    assert.match(explainTransportFailure(reset, { tls: true }), /for TLS: it refused this certificate/);
    assert.match(explainTransportFailure(reset), /for TLS/);
  });
});
