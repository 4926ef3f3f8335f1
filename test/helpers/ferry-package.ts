import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './guest.js';

/** package.json's version: the package's, and what `ferry version` reports. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * build/ferry_VERSION_amd64.deb (scripts/build-deb.sh, gzip-compressed for speed), built unless one newer
 * than dist/ is there already: the package every systemd test installs.
 */
export function ferryPackage(): string {
  const deb = join(REPO_ROOT, 'build', `ferry_${packageVersion()}_amd64.deb`);
  // A build under way (scripts/test.sh starts one in the background) finishes first.
  mkdirSync(join(REPO_ROOT, 'build'), { recursive: true });
  execFileSync('flock', [join(REPO_ROOT, 'build', '.build-deb.lock'), 'true']);
  const distTime = statSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')).mtimeMs;
  if (existsSync(deb) && statSync(deb).mtimeMs > distTime) return deb;
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'build-deb.sh')], {
    env: { ...process.env, FERRY_DEB_COMPRESS: 'gzip' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return deb;
}
