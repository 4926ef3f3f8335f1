import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oneShotRequest } from './one-shot-http.js';

/** oneShotRequest against node's own HTTP server on a unix socket, and against raw sockets that misbehave. */
describe('oneShotRequest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-one-shot-'));
  const socketPath = join(dir, 'http.sock');
  let server: http.Server;
  const seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        Object.assign(seen, { method: req.method, url: req.url, headers: req.headers, body });
        if (req.url === '/chunked') {
          res.write('first ');
          setTimeout(() => res.end('second'), 20);
          return;
        }
        if (req.url === '/slow') return; // never answers
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ echo: body.length }));
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the method, path, headers and body, and reads a Content-Length reply', async () => {
    let connected = false;
    const reply = await oneShotRequest(
      { socketPath, secure: false },
      {
        method: 'POST',
        path: '/v1/x?y=1',
        headers: { 'content-type': 'application/json', 'x-ferry': 'a' },
        body: '{"é":1}',
        onConnected: () => (connected = true),
      },
    );
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body.toString()), { echo: 7 });
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/v1/x?y=1');
    assert.equal(seen.headers?.['x-ferry'], 'a');
    assert.equal(seen.headers?.['content-length'], '8', 'the length in bytes, not characters');
    assert.equal(seen.headers?.connection, 'close');
    assert.equal(seen.headers?.host, 'localhost');
    assert.equal(connected, true);
  });

  it('reads a chunked reply', async () => {
    const reply = await oneShotRequest({ socketPath, secure: false }, { method: 'GET', path: '/chunked', headers: {} });
    assert.equal(reply.body.toString(), 'first second');
  });

  it('a missing socket is ENOENT and never connected; a timeout is ETIMEDOUT; an abort is an AbortError', async () => {
    let connected = false;
    await assert.rejects(
      oneShotRequest({ socketPath: join(dir, 'none.sock'), secure: false }, { method: 'GET', path: '/', headers: {}, onConnected: () => (connected = true) }),
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
    );
    assert.equal(connected, false);
    await assert.rejects(
      oneShotRequest({ socketPath, secure: false }, { method: 'GET', path: '/slow', headers: {}, timeoutMs: 100 }),
      (e: NodeJS.ErrnoException) => e.code === 'ETIMEDOUT',
    );
    const ac = new AbortController();
    const pending = oneShotRequest({ socketPath, secure: false }, { method: 'GET', path: '/slow', headers: {}, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
  });

  it('a server that closes without a reply is a hang-up (ECONNRESET), after connecting', async () => {
    const rude = net.createServer((s) => s.once('data', () => s.end()));
    const rudePath = join(dir, 'rude.sock');
    await new Promise<void>((resolve) => rude.listen(rudePath, resolve));
    let connected = false;
    await assert.rejects(
      oneShotRequest({ socketPath: rudePath, secure: false }, { method: 'GET', path: '/', headers: {}, onConnected: () => (connected = true) }),
      (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET',
    );
    assert.equal(connected, true);
    rude.close();
  });

  it("a server that answers before reading the body and closes (a read-only socket's refusal): its answer is the reply", async () => {
    const hasty = net.createServer((s) =>
      s.once('data', () => {
        s.end('HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: 16\r\nconnection: close\r\n\r\n{"error":"read"}');
      }),
    );
    const hastyPath = join(dir, 'hasty.sock');
    await new Promise<void>((resolve) => hasty.listen(hastyPath, resolve));
    for (let i = 0; i < 20; i++) {
      const reply = await oneShotRequest(
        { socketPath: hastyPath, secure: false },
        { method: 'POST', path: '/v1/domains/x/start', headers: {}, body: JSON.stringify({ pad: 'x'.repeat(2000) }) },
      );
      assert.equal(reply.status, 403);
      assert.equal(reply.body.toString(), '{"error":"read"}');
    }
    hasty.close();
  });

  it('refuses a header that would split the request', async () => {
    await assert.rejects(
      oneShotRequest({ socketPath, secure: false }, { method: 'GET', path: '/', headers: { 'x-a': 'b\r\nx-evil: 1' } }),
      /invalid character/,
    );
  });
});
