import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseConnectionUri } from '../transport/connection-uri.js';
import { endpointFor } from '../transport/endpoint.js';
import { ApiClient } from './api-client.js';
import { connectionFailure } from './context.js';

/** A ferryd that answers its first `answers` requests, then reads the next one and dies before replying. */
async function dyingDaemon(dir: string, answers: number): Promise<{ client: ApiClient; close: () => void }> {
  const path = join(dir, `d${answers}.sock`);
  let n = 0;
  const server = net.createServer((s) =>
    s.on('data', () => {
      if (n++ >= answers) return void s.destroy();
      s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    }),
  );
  await new Promise<void>((r) => server.listen(path, r));
  return { client: new ApiClient(endpointFor(parseConnectionUri(`ferry:///system?socket=${path}`))), close: () => server.close() };
}

describe('ApiClient: a connection that ends before the reply', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-api-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("after ferryd answered once, a call cut off is CONNECTION_LOST: 'Disconnected ... due to end of file' (virsh's words), not a failure to connect", async () => {
    const d = await dyingDaemon(dir, 1);
    try {
      assert.deepEqual(await d.client.get('/v1/domains'), {});
      const err = await d.client.get('/v1/domains/vm1').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof FerryError);
      assert.equal(err.code, 'CONNECTION_LOST');
      assert.match(err.message, /^Disconnected from ferry:\/\/\/system\?socket=.* due to end of file: ferryd closed the connection before it replied/);
      assert.deepEqual(connectionFailure(err).messages, [err.message], 'no "failed to connect to the hypervisor" line');
    } finally {
      d.close();
    }
  });

  it('a first call cut off the same way is a failure to connect (a daemon over its client limit, a refused TLS certificate)', async () => {
    const d = await dyingDaemon(dir, 0);
    try {
      await assert.rejects(d.client.get('/v1/domains'), (e: unknown) => e instanceof FerryError && e.code === 'CONNECT_FAILED');
    } finally {
      d.close();
    }
  });
});
