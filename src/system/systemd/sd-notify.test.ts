import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UnixDatagramServer } from '../../../test/helpers/unix-datagram-server.js';
import { notifyMessage, SdNotifier } from './sd-notify.js';
import { unixAddress } from './unix-datagram.js';

test('sockaddr_un: a path counts its NUL, an abstract name (@) starts with NUL and counts only its bytes', () => {
  const p = unixAddress('/run/x');
  assert.equal(p.addr.readUInt16LE(0), 1);
  assert.equal(p.length, 2 + 6 + 1);
  assert.equal(p.addr.subarray(2, 8).toString(), '/run/x');
  const a = unixAddress('@ferry/notify');
  assert.equal(a.length, 2 + 1 + 12);
  assert.equal(a.addr[2], 0);
  assert.equal(a.addr.subarray(3, 15).toString(), 'ferry/notify');
  assert.throws(() => unixAddress(`/${'x'.repeat(120)}`), /too long/);
});

test('the notify message: one KEY=VALUE a line, a newline in a value cannot start another assignment', () => {
  assert.equal(notifyMessage({ READY: 1, STATUS: 'serving\nREADY=0' }), 'READY=1\nSTATUS=serving READY=0');
});

test('without NOTIFY_SOCKET nothing is sent (not under systemd)', () => {
  const n = new SdNotifier(undefined, () => assert.fail('no socket is opened'));
  assert.equal(n.enabled, false);
  assert.equal(n.ready('x'), false);
});

test('READY=1, STATUS and STOPPING=1 reach a datagram socket at a path and in the abstract namespace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-notify-'));
  const abstract = `@ferry-test-notify-${process.pid}`;
  for (const address of [join(dir, 'notify'), abstract]) {
    const server = new UnixDatagramServer(address);
    const n = new SdNotifier(address);
    try {
      assert.equal(n.ready('serving on /run/ferry/ferryd.sock'), true);
      assert.equal((await server.next()).toString(), `READY=1\nSTATUS=serving on /run/ferry/ferryd.sock\nMAINPID=${process.pid}`);
      n.stopping('stopping on SIGTERM');
      assert.equal((await server.next()).toString(), 'STOPPING=1\nSTATUS=stopping on SIGTERM');
    } finally {
      n.close();
      server.close();
    }
  }
  // Nobody listening: the send fails loudly (ferryd logs it), it does not hang.
  const lonely = new SdNotifier(join(dir, 'nobody'));
  assert.throws(() => lonely.status('x'), /ENOENT|ECONNREFUSED/);
  lonely.close();
  rmSync(dir, { recursive: true, force: true });
});
