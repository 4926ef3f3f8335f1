import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

// dist/src/layers.test.js → the repository's root, where .dependency-cruiser.cjs is.
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('layers (.dependency-cruiser.cjs, docs/architecture.md)', () => {
  it('src/ has no import cycle, no upward import and no CLI import of a server module', () => {
    const cruiser = fileURLToPath(new URL('node_modules/dependency-cruiser/bin/dependency-cruise.mjs', `file://${root}`));
    const r = spawnSync(process.execPath, [cruiser, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `dependency-cruiser found violations (npx depcruise src --config .dependency-cruiser.cjs):\n${r.stdout}${r.stderr}`);
  });
});
