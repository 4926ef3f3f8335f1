import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { tempDir } from '../helpers/tmp.js';
import { UnixDatagramServer } from '../helpers/unix-datagram-server.js';

/** The datagrams, as KEY=VALUE maps, until one has `key`. */
async function until(server: UnixDatagramServer, key: string, timeoutMs: number): Promise<Array<Map<string, string>>> {
  const seen: Array<Map<string, string>> = [];
  for (;;) {
    const text = (await server.next(timeoutMs)).toString();
    const m = new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]));
    seen.push(m);
    if (m.has(key)) return seen;
  }
}

/**
 * Type=notify on a real ferryd: with $NOTIFY_SOCKET (systemd's, here a socket the test binds in the
 * abstract namespace) it says STATUS while starting, READY=1 once its API socket accepts (the CLI gets
 * an answer at once), and STOPPING=1 on SIGTERM.
 */
test('ferryd tells $NOTIFY_SOCKET READY=1 once its socket accepts, and STOPPING=1 on SIGTERM', async () => {
  const dir = tempDir('ferry-notify-');
  const address = `@ferry-test-notify-${process.pid}`;
  const server = new UnixDatagramServer(address);
  const host = new FerrydHost({ dir: dir.path, launcher: ['env', `NOTIFY_SOCKET=${address}`] });
  try {
    const exited = host.spawn();
    const seen = await Promise.race([until(server, 'READY', 60_000), exited]);
    const ready = seen.at(-1) as Map<string, string>;
    assert.match(seen[0]?.get('STATUS') ?? '', /^starting/);
    assert.equal(ready.get('READY'), '1');
    assert.equal(ready.get('STATUS'), `serving on ${host.socket}`);
    assert.match(ready.get('MAINPID') ?? '', /^\d+$/);
    // READY means serving: the first request after it is answered.
    assert.match(await host.ok('list', '--all'), /Id\s+Name\s+State/);
    const stopping = host.kill('SIGTERM');
    const last = (await until(server, 'STOPPING', 30_000)).at(-1) as Map<string, string>;
    assert.equal(last.get('STOPPING'), '1');
    assert.match(last.get('STATUS') ?? '', /stopping on SIGTERM; running domains keep running/);
    await stopping;
  } finally {
    await host.stopAll();
    server.close();
    dir.cleanup();
  }
});
