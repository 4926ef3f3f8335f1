import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { PortAllocator } from './port-allocator.js';

function connect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

function refused(port: number): Promise<boolean> {
  return connect(port).then(
    () => false,
    () => true,
  );
}

/** Waits until nothing listens on the port any more: binding it works (a bind is not a connection the probe would answer). */
async function waitUntilFree(port: number, timeoutMs = 5000): Promise<void> {
  const bindable = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
    });
  const deadline = Date.now() + timeoutMs;
  while (!(await bindable())) {
    if (Date.now() > deadline) throw new Error(`port ${port} still in use after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PortAllocator', () => {
  it('hands out distinct free ports of its range and takes them back', async () => {
    const ports = new PortAllocator(47311, 47313);
    const a = await ports.acquire('127.0.0.1');
    const b = await ports.acquire('127.0.0.1');
    assert.notEqual(a, b);
    ports.release(a);
    assert.equal(await ports.acquire('127.0.0.1'), a);
  });

  it('refuses a preferred port that is bound by someone else', async () => {
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(47320, '127.0.0.1', () => r()));
    try {
      await assert.rejects(new PortAllocator(47320, 47321).acquire('127.0.0.1', 47320), /migration port 47320 on 127.0.0.1 is in use/);
    } finally {
      other.close();
    }
  });

  it('a probe answers one connection, then frees the port', async () => {
    const ports = new PortAllocator(47330, 47330);
    const port = await ports.acquire('127.0.0.1');
    await ports.probe('127.0.0.1', port);
    await connect(port);
    await waitUntilFree(port);
    assert.equal(await refused(port), true, 'the probe stopped listening');
    assert.equal(await ports.acquire('127.0.0.1'), port, 'the port went back to the range');
  });

  it('a migration that wants the probed port ends the probe first', async () => {
    const ports = new PortAllocator(47340, 47341);
    const port = await ports.acquire('127.0.0.1', 47341);
    await ports.probe('127.0.0.1', port);
    assert.equal(await ports.acquire('127.0.0.1', 47341), 47341);
  });

  it('a probe that nobody reaches ends after its time', async () => {
    const ports = new PortAllocator(47350, 47350);
    const port = await ports.acquire('127.0.0.1');
    await ports.probe('127.0.0.1', port, 100);
    await waitUntilFree(port);
    assert.equal(await refused(port), true);
  });
});
