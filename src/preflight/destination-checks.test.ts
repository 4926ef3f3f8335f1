import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { filesystemDirs } from './destination-checks.js';

describe('filesystemDirs(): the destination has each <filesystem> source directory', () => {
  it('passes an existing directory; fails a missing one or a file, naming the filesystem, with a hint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-fsdirs-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      const results = filesystemDirs({ filesystems: [
        { target: 'ok', dir }, { target: 'gone', dir: join(dir, 'missing') }, { target: 'plain', dir: join(dir, 'file') },
      ] }, 'hostb');
      assert.deepEqual(results.map((r) => [r.id, r.outcome, r.reason]), [
        ['storage', 'fail', `filesystem 'gone': source directory ${join(dir, 'missing')} does not exist on hostb`],
        ['storage', 'fail', `filesystem 'plain': source directory ${join(dir, 'file')} does not exist on hostb`],
      ]);
      assert.match(results[0]?.hint ?? '', /^Create .* on hostb/);
      assert.deepEqual(filesystemDirs({}, 'hostb'), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
