import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { ensureDirectory } from './state-directories.js';

describe('ensureDirectory()', () => {
  it('creates nested directories with the given mode', () => {
    const dir = tempDir('ferry-dirs-');
    ensureDirectory(`${dir.path}/a/b`, 'run directory', 0o700);
    assert.equal(statSync(`${dir.path}/a/b`).mode & 0o777, 0o700);
    dir.cleanup();
  });

  it('names the directory and the file in the way instead of failing as a bug', () => {
    const dir = tempDir('ferry-dirs-');
    writeFileSync(`${dir.path}/log`, '');
    assert.throws(
      () => ensureDirectory(`${dir.path}/log`, 'log directory'),
      (e: unknown) =>
        e instanceof FerryError &&
        e.code === 'CONFIG_INVALID' &&
        e.message === `cannot create the log directory '${dir.path}/log': a file that is not a directory is in the way`,
    );
    dir.cleanup();
  });
});
