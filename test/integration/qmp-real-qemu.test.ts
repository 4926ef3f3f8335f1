import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FerryError } from '../../src/errors/ferry-error.js';
import { QemuMonitor } from '../../src/qemu/monitor.js';
import { QemuProcess } from '../../src/qemu/process.js';
import { QmpClient } from '../../src/qmp/client.js';
import { QmpCommandError } from '../../src/qmp/errors.js';
import { connectQmpSocket } from '../../src/qmp/transport.js';
import { QEMU_BINARY } from '../helpers/guest.js';
import { tempDir } from '../helpers/tmp.js';

/** A bare QEMU (no guest) with QMP on a unix socket: QEMU is the server, we connect. */
describe('QMP against a real QEMU', () => {
  const dir = tempDir('ferry-qmp-');
  const qmpSocket = `${dir.path}/qmp.sock`;
  let proc: QemuProcess;

  before(async () => {
    const launched = await QemuProcess.launch({
      binary: QEMU_BINARY,
      argv: [
        '-machine',
        'none',
        '-display',
        'none',
        '-nodefaults',
        '-S',
        '-chardev',
        `socket,id=mon,path=${qmpSocket},server=on,wait=off`,
        '-mon',
        'chardev=mon,mode=control',
        '-pidfile',
        `${dir.path}/qemu.pid`,
      ],
      logPath: `${dir.path}/qemu.log`,
      qmpSocket,
    });
    proc = launched.process;
    launched.monitor.close();
  });

  after(async () => {
    await proc.terminate({ termMs: 2000 });
    dir.cleanup();
  });

  it('connect() negotiates with QEMU and execute() gets replies', async () => {
    const client = new QmpClient();
    const greeting = await client.connect(await connectQmpSocket(qmpSocket));
    assert.ok(greeting.version.qemu.major >= 7);
    const status = await client.execute<{ status: string; running: boolean }>('query-status');
    assert.equal(status.status, 'prelaunch');
    assert.equal(status.running, false);
    client.disconnect();
  });

  it("execute() surfaces QEMU's error class and desc", async () => {
    const client = new QmpClient();
    await client.connect(await connectQmpSocket(qmpSocket));
    await assert.rejects(client.execute('no-such-command'), (err: unknown) => {
      assert.ok(err instanceof QmpCommandError);
      assert.equal(err.errorClass, 'CommandNotFound');
      assert.match(err.desc, /no-such-command/);
      return true;
    });
    client.disconnect();
  });

  it("QemuMonitor wraps errors in libvirt's words and a listener sees STOP after stop", async () => {
    const monitor = await QemuMonitor.open(await connectQmpSocket(qmpSocket));
    await assert.rejects(monitor.call('blockdev-del', { 'node-name': 'nope' }), (err: unknown) => {
      assert.ok(err instanceof FerryError);
      assert.equal(err.code, 'QMP_COMMAND_FAILED');
      assert.match(err.message, /^internal error: unable to execute QEMU command 'blockdev-del': /);
      return true;
    });
    await monitor.cont();
    const l = monitor.listen(['STOP']);
    await monitor.stop();
    const e = await l.next({ timeoutMs: 5000 });
    assert.equal(e.event, 'STOP');
    l.close();
    assert.equal((await monitor.queryStatus()).status, 'paused');
    monitor.close();
  });

  it('two clients can take turns; a pending call fails when QEMU goes away', async () => {
    const other = tempDir('ferry-qmp2-');
    const sock = `${other.path}/q.sock`;
    const { process: p, monitor } = await QemuProcess.launch({
      binary: QEMU_BINARY,
      argv: [
        '-machine',
        'none',
        '-display',
        'none',
        '-nodefaults',
        '-S',
        '-chardev',
        `socket,id=mon,path=${sock},server=on,wait=off`,
        '-mon',
        'chardev=mon,mode=control',
      ],
      logPath: `${other.path}/qemu.log`,
      qmpSocket: sock,
    });
    const disconnected = new Promise<void>((resolve) => monitor.onDisconnect(() => resolve()));
    p.signal('SIGKILL');
    await disconnected;
    await assert.rejects(monitor.queryStatus(), (err: unknown) => err instanceof FerryError && err.code === 'QMP_DISCONNECTED');
    assert.equal(await p.waitExit(5000), true);
    assert.equal(p.exit?.signal, 'SIGKILL');
    other.cleanup();
  });

  it("launch() fails with QEMU's own message when QEMU exits at start", async () => {
    const bad = tempDir('ferry-qmp3-');
    await assert.rejects(
      QemuProcess.launch({
        binary: QEMU_BINARY,
        argv: [
          '-machine',
          'none',
          '-display',
          'none',
          '-nodefaults',
          '-blockdev',
          '{"driver":"file","filename":"/nonexistent/disk.img","node-name":"x"}',
          '-chardev',
          `socket,id=mon,path=${bad.path}/q.sock,server=on,wait=off`,
          '-mon',
          'chardev=mon,mode=control',
        ],
        logPath: `${bad.path}/qemu.log`,
        qmpSocket: `${bad.path}/q.sock`,
      }),
      (err: unknown) => {
        assert.ok(err instanceof FerryError);
        assert.equal(err.code, 'QEMU_LAUNCH_FAILED');
        assert.match(err.message, /nonexistent\/disk.img.*No such file or directory/);
        return true;
      },
    );
    await assert.rejects(
      QemuProcess.launch({ binary: '/nonexistent/qemu', argv: [], logPath: `${bad.path}/qemu2.log`, qmpSocket: `${bad.path}/x.sock` }),
      (err: unknown) => err instanceof FerryError && err.code === 'QEMU_BINARY_MISSING',
    );
    bad.cleanup();
  });
});
