import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FERRY_VERSION } from './version.js';

test("FERRY_VERSION is package.json's version (the Debian package takes its version from package.json)", () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(FERRY_VERSION, pkg.version);
});
