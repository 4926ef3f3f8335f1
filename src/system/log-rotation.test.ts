import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { AppendLogRotator } from './log-rotation.js';

/** A writer that keeps its O_APPEND descriptor across rotations, as QEMU does. */
function appendWriter(path: string): { write(s: string): void; close(): void } {
  const fd = openSync(path, 'a');
  return { write: (s) => void writeSync(fd, s), close: () => closeSync(fd) };
}

const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, i) => `line ${String(from + i).padStart(6, '0')}\n`).join('');

describe('AppendLogRotator', () => {
  it('on a filesystem that collapses ranges (ext4, xfs): whole blocks move to NAME.1, the writer appends on, nothing lost, backups capped', () => {
    const dir = tempDir('ferry-rotate-');
    try {
      const log = `${dir.path}/vm.log`;
      const w = appendWriter(log);
      w.write(lines(0, 1000)); // 12000 bytes
      const rotator = new AppendLogRotator();
      const r = rotator.rotate(log, 2);
      assert.equal(r.lossless, true, 'this test needs /tmp on ext4 or xfs');
      const block = statSync(`${log}.1`).blksize;
      assert.equal(statSync(`${log}.1`).size, Math.floor(12000 / block) * block);
      w.write(lines(1000, 2000));
      assert.equal(readFileSync(`${log}.1`, 'utf8') + readFileSync(log, 'utf8'), lines(0, 2000));
      rotator.rotate(log, 2);
      w.write(lines(2000, 3000));
      rotator.rotate(log, 2);
      assert.equal(existsSync(`${log}.3`), false);
      const all = readFileSync(`${log}.2`, 'utf8') + readFileSync(`${log}.1`, 'utf8') + readFileSync(log, 'utf8');
      assert.ok(lines(0, 3000).endsWith(all), "the kept files are the stream's tail, byte for byte");
      w.close();
    } finally {
      dir.cleanup();
    }
  });

  it('elsewhere (tmpfs): copies everything and truncates, and says the rotation was not lossless', { skip: !existsSync('/dev/shm') && 'no /dev/shm' }, () => {
    const path = mkdtempSync('/dev/shm/ferry-rotate-');
    try {
      const log = `${path}/vm.log`;
      const w = appendWriter(log);
      w.write(lines(0, 1000));
      const r = new AppendLogRotator().rotate(log, 1);
      assert.deepEqual(r, { movedBytes: 12000, lossless: false });
      w.write(lines(1000, 1010));
      assert.equal(readFileSync(`${log}.1`, 'utf8'), lines(0, 1000));
      assert.equal(readFileSync(log, 'utf8'), lines(1000, 1010), 'the writer appends at the new end: no hole');
      w.close();
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});
