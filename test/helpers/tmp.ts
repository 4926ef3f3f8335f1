import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory, short enough for unix socket paths; removed by the returned cleanup. */
export function tempDir(prefix = 'ferry-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(process.env.FERRY_TEST_TMP ?? tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
