import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ferryPackage } from './ferry-package.js';
import type { BootOptions } from './nspawn.js';

export interface InstallOptions {
  /** ferryd.conf text added after the packaged default (a key set twice keeps the last value). */
  ferrydConf?: string;
  /** /etc/ferry/ferry-guests.conf text added after the packaged default (shell variables: ON_SHUTDOWN=...). */
  guestsConf?: string;
}

/**
 * Installs ferry's Debian package (scripts/build-deb.sh, built when dist/ is newer) into a container's root
 * that is not booted yet, with dpkg in the root (systemd-nspawn without -b: /proc, /sys and /dev mounted for
 * the maintainer scripts), as `apt-get install ./ferry_*.deb` does on a host whose dependencies are there
 * (the QEMU root of scripts/systemd-root.sh has them; test/integration/package-install resolves them from a
 * clean root). The postinst makes the `ferry` group, the `ferry-qemu` user and the state directories and
 * enables the units; then the test's own settings are appended to the packaged configs, and the journal made
 * persistent (read after a poweroff). Returns the binds the boot needs (none: the package is self-contained).
 */
export function installFerry(root: string, o: InstallOptions = {}): NonNullable<BootOptions['binds']> {
  const deb = ferryPackage();
  const at = (p: string): string => join(root, p);
  copyFileSync(deb, at(`/var/tmp/${basename(deb)}`));
  const r = spawnSync(
    'systemd-nspawn',
    ['-q', '-D', root, '--register=no', '--keep-unit', '--pipe', '-E', 'DEBIAN_FRONTEND=noninteractive', 'dpkg', '-i', `/var/tmp/${basename(deb)}`],
    { encoding: 'utf8', timeout: 300_000 },
  );
  if (r.status !== 0) throw new Error(`dpkg -i ${basename(deb)} in ${root} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  rmSync(at(`/var/tmp/${basename(deb)}`), { force: true });

  const append = (path: string, text: string | undefined): void => {
    if (text === undefined) return;
    const before = existsSync(at(path)) ? readFileSync(at(path), 'utf8') : '';
    writeFileSync(at(path), `${before}${before && !before.endsWith('\n') ? '\n' : ''}${text}\n`);
  };
  append('/etc/ferry/ferryd.conf', o.ferrydConf ?? '');
  append('/etc/ferry/ferry-guests.conf', o.guestsConf);
  mkdirSync(at('/var/log/journal'), { recursive: true });
  return [];
}
