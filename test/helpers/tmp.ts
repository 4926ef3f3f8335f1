import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh temporary directory, short enough for unix socket paths; removed by
 * the returned cleanup. Mode 0755: QEMU runs as its own unprivileged user and
 * must pass through to the disks and logs tests put here.
 */
export function tempDir(prefix = 'ferry-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(process.env.FERRY_TEST_TMP ?? tmpdir(), prefix));
  chmodSync(path, 0o755);
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
