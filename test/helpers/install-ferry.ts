import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './guest.js';
import type { BootOptions } from './nspawn.js';

export interface InstallOptions {
  /** ferryd.conf text added after the packaged default (a key set twice keeps the last value). */
  ferrydConf?: string;
  /** /etc/ferry/ferry-guests.conf text added after the packaged default (shell variables: ON_SHUTDOWN=...). */
  guestsConf?: string;
}

/** Where ferry lives inside the container (the package's /usr/lib/ferry). */
const LIB = '/usr/lib/ferry';

/**
 * Installs ferry into a container's root (not booted yet), as a package would: /usr/sbin/ferryd,
 * /usr/sbin/ferry-lockd and /usr/bin/ferry, the units of packaging/systemd (enabled), the helpers of
 * packaging/libexec, the configs of packaging/etc/ferry plus the test's own, the `ferry` group and the
 * `ferry-qemu` user (as scripts/setup.sh makes them), and a persistent journal (read after a poweroff).
 *
 * For now it installs from this checkout: dist/, bin/, node_modules and this machine's Node.js are bound
 * read-only into the container; returns those binds for NspawnContainer.boot(). One function, so the
 * tests switch to installing the .deb in one place.
 */
export function installFerry(root: string, o: InstallOptions = {}): NonNullable<BootOptions['binds']> {
  const at = (p: string): string => join(root, p);
  // Mount points of the binds below: the files and directories must exist in the root.
  for (const d of ['dist', 'bin', 'node_modules']) mkdirSync(at(`${LIB}/${d}`), { recursive: true });
  writeFileSync(at(`${LIB}/node`), '');
  copyFileSync(join(REPO_ROOT, 'package.json'), at(`${LIB}/package.json`)); // "type": "module" for dist/
  const binds = [
    { host: join(REPO_ROOT, 'dist'), container: `${LIB}/dist`, ro: true },
    { host: join(REPO_ROOT, 'bin'), container: `${LIB}/bin`, ro: true },
    { host: realpathSync(join(REPO_ROOT, 'node_modules')), container: `${LIB}/node_modules`, ro: true },
    { host: realpathSync(process.execPath), container: `${LIB}/node`, ro: true },
  ];
  const wrapper = (path: string, bin: string): void => {
    writeFileSync(at(path), `#!/bin/sh\nexec ${LIB}/node ${LIB}/bin/${bin} "$@"\n`);
    chmodSync(at(path), 0o755);
  };
  wrapper('/usr/sbin/ferryd', 'ferryd');
  wrapper('/usr/sbin/ferry-lockd', 'ferry-lockd');
  wrapper('/usr/bin/ferry', 'ferry');

  const pkg = join(REPO_ROOT, 'packaging');
  const copyDir = (from: string, to: string, mode?: number): string[] => {
    if (!existsSync(from)) return [];
    mkdirSync(at(to), { recursive: true });
    const names = readdirSync(from);
    for (const n of names) {
      copyFileSync(join(from, n), at(`${to}/${n}`));
      if (mode !== undefined) chmodSync(at(`${to}/${n}`), mode);
    }
    return names;
  };
  const units = copyDir(join(pkg, 'systemd'), '/lib/systemd/system');
  copyDir(join(pkg, 'libexec'), '/usr/libexec/ferry', 0o755);
  copyDir(join(pkg, 'etc', 'ferry'), '/etc/ferry');
  const append = (path: string, text: string | undefined): void => {
    if (text === undefined) return;
    const before = existsSync(at(path)) ? readFileSync(at(path), 'utf8') : '';
    writeFileSync(at(path), `${before}${before && !before.endsWith('\n') ? '\n' : ''}${text}\n`);
  };
  mkdirSync(at('/etc/ferry'), { recursive: true });
  append('/etc/ferry/ferryd.conf', o.ferrydConf ?? '');
  append('/etc/ferry/ferry-guests.conf', o.guestsConf);
  mkdirSync(at('/var/log/journal'), { recursive: true });

  const chroot = (...cmd: string[]): void => void execFileSync('chroot', [root, ...cmd], { stdio: 'pipe' });
  chroot('sh', '-c', 'getent group ferry >/dev/null || groupadd --system ferry');
  chroot('sh', '-c', 'getent passwd ferry-qemu >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ferry-qemu');
  chroot('sh', '-c', 'if getent group kvm >/dev/null; then usermod -aG kvm ferry-qemu; fi');
  // Enabled as the package's postinst would (units with no [Install] section are skipped).
  for (const u of units.filter((n) => /\.(service|socket|target|timer)$/.test(n))) {
    if (/^\[Install\]/m.test(readFileSync(join(pkg, 'systemd', u), 'utf8'))) {
      execFileSync('systemctl', [`--root=${root}`, 'enable', u], { stdio: 'pipe' });
    }
  }
  return binds;
}
