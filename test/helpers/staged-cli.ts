import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './guest.js';

export interface StagedCli {
  /** The CLI as the package ships it (the esbuild bundle ferry.cjs, its verbs in ferry-lib/): run it with node. */
  path: string;
  cleanup(): void;
}

/**
 * The CLI where every local user can read it, for tests that run it as another user (setpriv): a checkout
 * may live where only root can pass (CI's `mktemp -d` clone is 0700), so bin/ferry and dist/ are out of their
 * reach. The esbuild bundle (scripts/bundle.mjs, what the package ships) is self-contained, so it is staged
 * alone in a world-readable directory under /var/tmp.
 */
export function stageCli(): StagedCli {
  const dir = mkdtempSync('/var/tmp/ferry-cli-');
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'bundle.mjs'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) chmodSync(join(f.parentPath, f.name), f.isDirectory() ? 0o755 : 0o644);
  return { path: join(dir, 'ferry.cjs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
