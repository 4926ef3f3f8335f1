import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { filesystemDirs, networksCheck } from './destination-checks.js';

describe('filesystemDirs(): the destination has each <filesystem> source directory', () => {
  it('passes an existing directory; fails a missing one or a file, naming the filesystem, with a hint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-fsdirs-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      const results = filesystemDirs(
        {
          filesystems: [
            { target: 'ok', dir },
            { target: 'gone', dir: join(dir, 'missing') },
            { target: 'plain', dir: join(dir, 'file') },
          ],
        },
        'hostb',
      );
      assert.deepEqual(
        results.map((r) => [r.id, r.outcome, r.reason]),
        [
          ['storage', 'fail', `filesystem 'gone': source directory ${join(dir, 'missing')} does not exist on hostb`],
          ['storage', 'fail', `filesystem 'plain': source directory ${join(dir, 'file')} does not exist on hostb`],
        ],
      );
      assert.match(results[0]?.hint ?? '', /^Create .* on hostb/);
      assert.deepEqual(filesystemDirs({}, 'hostb'), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("networksCheck(): a <driver name='vhost'> interface's vhost-net device opens on the destination", () => {
  it('fails by name, with the errno and a hint, when it cannot; passes when it can', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-vhost-'));
    try {
      const d = { hostname: 'hostb', networks: { lookup: () => assert.fail('no network is looked up') } } as unknown as Parameters<typeof networksCheck>[1];
      const missing = networksCheck({ interfaces: [{ mac: '52:54:00:00:00:01', type: 'ethernet', vhost: join(dir, 'vhost-net') }] }, d);
      assert.deepEqual(
        [missing.id, missing.outcome, missing.reason],
        ['networks', 'fail', `interface 52:54:00:00:00:01: <driver name='vhost'> needs ${join(dir, 'vhost-net')}, which cannot be opened on hostb: ENOENT`],
      );
      assert.match(missing.hint ?? '', /modprobe vhost_net.*<driver name='qemu'>/);
      writeFileSync(join(dir, 'vhost-net'), '');
      assert.equal(networksCheck({ interfaces: [{ mac: '52:54:00:00:00:01', type: 'ethernet', vhost: join(dir, 'vhost-net') }] }, d).outcome, 'pass');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
