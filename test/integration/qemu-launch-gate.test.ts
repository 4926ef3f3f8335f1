import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { QemuProcess } from '../../src/qemu/process.js';
import { processCommandLine } from '../../src/system/process-liveness.js';
import { QEMU_BINARY } from '../helpers/guest.js';
import { tempDir } from '../helpers/tmp.js';

function options(dir: string): Parameters<typeof QemuProcess.launch>[0] {
  const qmpSocket = `${dir}/qmp.sock`;
  return {
    binary: QEMU_BINARY,
    argv: [
      '-machine',
      'none',
      '-display',
      'none',
      '-nodefaults',
      '-S',
      '-uuid',
      '00000000-0000-4000-8000-00000000beef',
      '-chardev',
      `socket,id=mon,path=${qmpSocket},server=on,wait=off`,
      '-mon',
      'chardev=mon,mode=control',
      '-pidfile',
      `${dir}/qemu.pid`,
    ],
    logPath: `${dir}/qemu.log`,
    qmpSocket,
  };
}

/**
 * beforeExec (what puts QEMU in its systemd scope) runs while the pid is a shell waiting to exec QEMU:
 * QEMU has run nothing yet (no pidfile, no monitor), and the same pid becomes QEMU afterwards. A hook
 * that fails ends the launch with its error and QEMU never starts.
 */
test('QEMU waits before exec until beforeExec is done, in the same pid; a failing hook means no QEMU', async () => {
  const dir = tempDir('ferry-gate-');
  try {
    let seen: { argv0: string; pidfile: boolean } | undefined;
    const launched = await QemuProcess.launch({
      ...options(dir.path),
      beforeExec: async (pid) => {
        await new Promise((r) => setTimeout(r, 200));
        const argv = processCommandLine(pid);
        seen = { argv0: Array.isArray(argv) ? argv.slice(0, 2).join(' ') : String(argv), pidfile: existsSync(`${dir.path}/qemu.pid`) };
      },
    });
    assert.deepEqual(seen, { argv0: '/bin/sh -c', pidfile: false });
    assert.equal(readFileSync(`${dir.path}/qemu.pid`, 'utf8').trim(), String(launched.process.pid));
    assert.ok((processCommandLine(launched.process.pid) as string[]).includes('-uuid'));
    launched.monitor.close();
    await launched.process.terminate({ termMs: 2000 });

    const refused = new Error('systemd did not move pid into machine-qemu.scope');
    await assert.rejects(
      QemuProcess.launch({ ...options(`${dir.path}`), logPath: `${dir.path}/qemu2.log`, beforeExec: () => Promise.reject(refused) }),
      (err) => err === refused,
    );
    assert.equal(existsSync(`${dir.path}/qemu.pid`), false, 'QEMU never ran');
    assert.doesNotMatch(readFileSync(`${dir.path}/qemu2.log`, 'utf8'), /qemu-system.*:/m);
  } finally {
    dir.cleanup();
  }
});
