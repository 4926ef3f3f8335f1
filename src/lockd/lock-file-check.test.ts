import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { checkLockFile } from './lock-file-check.js';

describe('checkLockFile()', () => {
  const dir = tempDir('ferry-lockfile-');
  const space = `${dir.path}/lockspace`;
  const hash = 'a'.repeat(64);
  mkdirSync(`${space}/sub`, { recursive: true });
  writeFileSync(`${space}/${hash}`, '');
  writeFileSync(`${dir.path}/somefile`, 'precious');
  writeFileSync(`${space}/${'b'.repeat(64)}`, 'data');
  symlinkSync(`${dir.path}/somefile`, `${space}/${'c'.repeat(64)}`);
  symlinkSync(space, `${dir.path}/space-link`);
  after(() => dir.cleanup());
  const refused = (resource: string, spaces: string[], re: RegExp): void => {
    const r = checkLockFile(resource, spaces);
    assert.equal(r.ok, false, resource);
    if (!r.ok) assert.match(r.reason, re, resource);
  };

  it('accepts an empty lock file ferry named, directly in a lockspace (also through a symlinked path to it)', () => {
    assert.deepEqual(checkLockFile(`${space}/${hash}`, [space]), { ok: true, path: `${space}/${hash}` });
    assert.deepEqual(checkLockFile(`${dir.path}/space-link/${hash}`, [space]), { ok: true, path: `${space}/${hash}` });
    assert.deepEqual(checkLockFile(`${space}/${'d'.repeat(64)}`, [space]), { ok: true, path: undefined }, 'already gone: nothing to do');
  });

  it('refuses anything else, naming why', () => {
    refused(`${dir.path}/somefile`, [space], /not in a lockspace directory/);
    refused(`${space}/../somefile`, [space], /not in a lockspace directory/);
    refused(`${space}/sub/${hash}`, [space], /not in a lockspace directory/);
    refused('/etc/passwd', [space], /not in a lockspace directory/);
    refused(`${space}/${hash}`, [], /no lockspace directory is configured/);
    refused(`${space}/.hidden`, [space], /not the name of a ferry lock file/);
    refused(`${space}/sub`, [space], /not a regular file/);
    refused(`${space}/${'b'.repeat(64)}`, [space], /not empty \(4 bytes/);
    refused(`${space}/${'c'.repeat(64)}`, [space], /not a regular file/);
    refused('relative/path', [space], /not an absolute path/);
    refused(`${space}/${hash}`, [`${dir.path}/missing`], /no lockspace directory is configured/);
    const other = checkLockFile(`${space}/${hash}`, [space], 4242);
    assert.equal(other.ok, false);
  });
});
