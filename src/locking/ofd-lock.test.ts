import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { OfdLocker } from './ofd-lock.js';

describe('OfdLocker (real fcntl)', () => {
  const locker = new OfdLocker();

  it('tryLock() excludes a second exclusive lock, even in the same process, until unlock()', () => {
    const dir = tempDir('ferry-ofd-');
    const f = `${dir.path}/res`;
    const a = locker.tryLock(f, 'exclusive', { create: true });
    assert.ok(a !== undefined);
    assert.equal(locker.tryLock(f, 'exclusive', { create: false }), undefined);
    assert.equal(locker.tryLock(f, 'shared', { create: false }), undefined);
    assert.equal(locker.isLocked(f), true);
    locker.unlock(a);
    assert.equal(locker.isLocked(f), false);
    const b = locker.tryLock(f, 'exclusive', { create: false });
    assert.ok(b !== undefined);
    locker.unlock(b);
    dir.cleanup();
  });

  it('shared locks stack and keep an exclusive one out', () => {
    const dir = tempDir('ferry-ofd-');
    const f = `${dir.path}/res`;
    writeFileSync(f, '');
    const s1 = locker.tryLock(f, 'shared', { create: false });
    const s2 = locker.tryLock(f, 'shared', { create: false });
    assert.ok(s1 !== undefined && s2 !== undefined);
    assert.equal(locker.tryLock(f, 'exclusive', { create: false }), undefined);
    locker.unlock(s1);
    locker.unlock(s2);
    dir.cleanup();
  });

  it('locks only byte 0, so QEMU-style locks on bytes 100+ do not collide', () => {
    const dir = tempDir('ferry-ofd-');
    const f = `${dir.path}/img`;
    writeFileSync(f, Buffer.alloc(4096));
    const fd = locker.tryLock(f, 'exclusive', { create: false });
    assert.ok(fd !== undefined);
    // flock(1)-like byte-range check from another process with python's fcntl.lockf at offset 100.
    const r = spawnSync('python3', ['-c', `import fcntl,os;fd=os.open('${f}',os.O_RDWR);fcntl.lockf(fd,fcntl.LOCK_EX|fcntl.LOCK_NB,1,100);print('ok')`], {
      encoding: 'utf8',
    });
    assert.equal(r.stdout.trim(), 'ok', r.stderr);
    locker.unlock(fd);
    dir.cleanup();
  });
});
