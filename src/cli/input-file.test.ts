import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { CliFailure } from './context.js';
import { readInputFile } from './input-file.js';

describe('readInputFile', () => {
  it('reads a file whole', () => {
    const dir = tempDir('ferry-input-');
    writeFileSync(`${dir.path}/d.xml`, '<domain/>');
    assert.equal(readInputFile(`${dir.path}/d.xml`).toString(), '<domain/>');
    dir.cleanup();
  });

  it('refuses a file that never ends instead of reading it into memory (fuzz: ferry define /dev/zero grew to 3 GB)', () => {
    assert.throws(
      () => readInputFile('/dev/zero'),
      (err: unknown) =>
        err instanceof CliFailure &&
        err.code === 'INVALID_ARGUMENT' &&
        /^Failed to open file '\/dev\/zero': File too large \(more than 10 MiB\)$/.test(err.messages[0] ?? ''),
    );
  });

  it('a file over the limit is refused, one at the limit is read', () => {
    const dir = tempDir('ferry-input-');
    writeFileSync(`${dir.path}/big`, Buffer.alloc(1001));
    writeFileSync(`${dir.path}/fits`, Buffer.alloc(1000));
    assert.throws(() => readInputFile(`${dir.path}/big`, 1000), /File too large/);
    assert.equal(readInputFile(`${dir.path}/fits`, 1000).length, 1000);
    dir.cleanup();
  });

  it('a missing file is reported as virsh does', () => {
    assert.throws(
      () => readInputFile('/nonexistent/x.xml'),
      (err: unknown) => err instanceof CliFailure && err.messages[0] === "Failed to open file '/nonexistent/x.xml': No such file or directory",
    );
  });
});
