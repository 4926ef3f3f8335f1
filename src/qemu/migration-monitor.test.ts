import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ScriptedQmpServer } from '../../test/fakes/scripted-qmp-server.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { connectQmpSocket } from '../qmp/transport.js';
import { MigrationMonitor } from './migration-monitor.js';
import { QemuMonitor } from './monitor.js';

describe('MigrationMonitor.migrate()', () => {
  const dir = tempDir('ferry-mm-');
  after(() => dir.cleanup());

  it("says what QEMU's 'duplicate yank instance' means (its last migration was never cleaned up) and how to get out of it", async () => {
    const server = await ScriptedQmpServer.listen({ path: `${dir.path}/m.sock` });
    const monitor = await QemuMonitor.open(await connectQmpSocket(server.path, { timeoutMs: 2000 }), { timeoutMs: 2000 });
    try {
      // QEMU 10.0.2's reply, as ferryd logged it in the fault matrix.
      server.override('migrate', { error: 'duplicate yank instance' });
      await assert.rejects(
        new MigrationMonitor(monitor).migrate('tcp:127.0.0.1:1'),
        (e: unknown) =>
          e instanceof FerryError &&
          e.code === 'MIG_FAILED' &&
          /QEMU refuses a new migration of this domain: .*duplicate yank instance/.test(e.message) &&
          /shut the guest down and start it again/.test(e.hint),
      );
      server.override('migrate', { error: 'Parameter uri is invalid' });
      await assert.rejects(new MigrationMonitor(monitor).migrate('x'), (e: unknown) => e instanceof FerryError && e.code !== 'MIG_FAILED');
    } finally {
      monitor.close();
      await server.close();
    }
  });
});
