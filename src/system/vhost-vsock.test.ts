import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { vsockCheck } from '../preflight/vsock-check.js';
import { VhostVsock } from './vhost-vsock.js';

describe('VhostVsock.acquire() and the vsock pre-flight row, on the real kernel', () => {
  it("says VSOCK_UNAVAILABLE when the device is missing or is not vhost-vsock (the kernel's ENOTTY)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-vsock-'));
    try {
      const missing = join(dir, 'vhost-vsock');
      assert.throws(
        () => new VhostVsock(missing).acquire(undefined, true),
        (err: unknown) =>
          err instanceof FerryError && err.code === 'VSOCK_UNAVAILABLE' && err.message.includes(`Unable to open ${missing}`) && err.message.includes('ENOENT'),
      );
      writeFileSync(missing, '');
      assert.throws(
        () => new VhostVsock(missing).acquire(5, false),
        (err: unknown) => err instanceof FerryError && err.code === 'VSOCK_UNAVAILABLE' && /refused guest CID 5: errno 25/.test(err.message),
      );
      const row = vsockCheck({ cid: 5, auto: false }, 'hostb', new VhostVsock(join(dir, 'absent')));
      assert.deepEqual([row.id, row.outcome], ['vsock', 'fail']);
      assert.match(row.reason, /Unable to open .*absent.* on hostb$/);
      assert.match(row.hint ?? '', /modprobe vhost_vsock/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
