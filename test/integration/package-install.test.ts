/**
 * The Debian package on a clean Debian 12 booted with systemd as PID 1 (systemd-nspawn): `apt-get install
 * ./ferry_*.deb` pulls QEMU 10 and the rest from Debian's mirrors, ferryd runs under systemd, the CLI works
 * for root and for a member of the ferry group, and removal and purge behave (docs/packaging.md).
 * The apt install is this test's cost (it is reported); downloaded .debs are kept in .cache/apt-archives
 * ($FERRY_APT_ARCHIVES), so a second run downloads nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { NspawnContainer, copyRoot, systemdRootTemplate } from '../helpers/nspawn.js';
import { REPO_ROOT } from '../helpers/guest.js';
import { ferryPackage, packageVersion } from '../helpers/ferry-package.js';
import { tempDir } from '../helpers/tmp.js';

const version = packageVersion();
/** build/ferry_VERSION_amd64.deb, built unless one newer than dist/ is there already. */
const packagePath = ferryPackage;

const dir = tempDir('ferry-pkg-');
let c: NspawnContainer;
let deb: string;
let installMs = 0;

before(async () => {
  deb = packagePath();
  const archives = process.env.FERRY_APT_ARCHIVES ?? join(REPO_ROOT, '.cache', 'apt-archives');
  mkdirSync(join(archives, 'partial'), { recursive: true });
  const root = copyRoot(systemdRootTemplate(), join(dir.path, 'root'));
  c = await NspawnContainer.boot({
    root,
    name: 'ferry-pkg',
    consoleLog: join(dir.path, 'console.log'),
    binds: [
      { host: join(REPO_ROOT, 'build'), container: '/mnt/build', ro: true },
      { host: archives, container: '/var/cache/apt/archives' },
    ],
  });
  c.sh('apt-get update -qq', { timeoutMs: 300_000 });
  const t0 = performance.now();
  // As docs/packaging.md says, with recommended packages left out (CI's download).
  c.sh(
    `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports /mnt/build/${basename(deb)} >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }`,
    { timeoutMs: 900_000 },
  );
  installMs = Math.round(performance.now() - t0);
});

after(async () => {
  await c?.kill();
  dir.cleanup();
});

/** Waits until `cmd` succeeds inside the container (a unit starting, a socket appearing). */
async function until(script: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (c.run(['sh', '-c', script], { check: false }).status !== 0) {
    if (Date.now() > deadline)
      throw new Error(
        `${what} within ${timeoutMs} ms:\n${c.sh('systemctl status ferryd --no-pager -l; journalctl -u ferryd --no-pager -n 30', { check: false })}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('apt installs the package on a clean Debian 12: ferryd runs under systemd, the CLI reports the package version', async (t) => {
  t.diagnostic(`apt-get install (with its dependencies): ${installMs} ms`);
  assert.equal(c.sh("dpkg-query -W -f='${Version}' ferry"), version);
  assert.match(c.sh('qemu-system-x86_64 -version'), /version 10\./, 'QEMU comes from bookworm-backports');
  const t0 = performance.now();
  await until('systemctl is-active --quiet ferryd.service && test -S /run/ferry/ferryd.sock', 'ferryd.service active with its socket');
  t.diagnostic(`ferryd serving after the install: ${Math.round(performance.now() - t0)} ms`);
  // ferry-lockd is socket-activated, as virtlockd: its socket is enabled, the service started through it (indirect).
  assert.equal(
    c.sh('systemctl is-enabled ferryd.service ferry-lockd.socket ferry-guests.service ferry-lockd.service').trim(),
    'enabled\nenabled\nenabled\nindirect',
  );
  assert.equal(c.sh('ferry version').split('\n')[0], `Compiled against library: ferry ${version}`);
  assert.match(c.sh('ferry --version'), new RegExp(`^${version.replaceAll('.', '\\.')}\\s*$`));
});

test('ferry list --all works as root and as a member of the ferry group', () => {
  assert.match(c.sh('ferry list --all'), /^ Id\s+Name\s+State/);
  c.sh('useradd --create-home --groups ferry alice');
  assert.match(c.sh('runuser -u alice -- ferry -c ferry:///system list --all'), /^ Id\s+Name\s+State/);
  // Someone outside the group gets virsh's refusal, not the list.
  c.sh('useradd --create-home bob');
  assert.notEqual(c.run(['runuser', '-u', 'bob', '--', 'ferry', '-c', 'ferry:///system', 'list', '--all'], { check: false }).status, 0);
});

test("the CLI compiles from the V8 code caches built with the package's node (none rejected, none missing)", () => {
  for (const cmd of ['ferry list --all', 'ferry --version', 'ferry dominfo no-such-domain']) {
    const r = c.run(['sh', '-c', `FERRY_CODE_CACHE_REPORT=1 ${cmd}`], { check: false });
    assert.match(r.stderr, /^code cache: [1-9]\d* used, 0 rejected, 0 missing$/m, `${cmd}: ${r.stderr}`);
  }
  // As a user who cannot write /usr/lib/ferry: the caches are read, never written at run time.
  assert.match(
    c.sh('runuser -u alice -- sh -c "FERRY_CODE_CACHE_REPORT=1 ferry -c ferry:///system list --all 2>&1 >/dev/null"'),
    /used, 0 rejected, 0 missing/,
  );
});

test('the files are where Debian puts them, the accounts exist', () => {
  const files = new Set(c.sh('dpkg -L ferry').trim().split('\n'));
  for (const f of [
    '/usr/bin/ferry',
    '/usr/sbin/ferryd',
    '/usr/sbin/ferry-lockd',
    '/usr/lib/ferry/node',
    '/usr/lib/ferry/ferry.cjs',
    '/usr/lib/ferry/ferry-start.cjs',
    '/usr/lib/ferry/ferry.cjs.v8cache',
    '/usr/lib/ferry/ferryd.mjs',
    '/usr/lib/ferry/ferry-lockd.mjs',
    '/lib/systemd/system/ferryd.service',
    '/lib/systemd/system/ferry-lockd.service',
    '/etc/ferry/ferryd.conf',
    '/usr/share/doc/ferry/copyright',
  ]) {
    assert.ok(files.has(f), `dpkg -L ferry lists ${f}`);
  }
  const man = join(REPO_ROOT, 'docs', 'man');
  for (const f of (existsSync(man) ? readdirSync(man, { withFileTypes: true }) : []).filter((e) => e.isFile() && /\.[1-8]$/.test(e.name))) {
    assert.ok(files.has(`/usr/share/man/man${f.name.slice(-1)}/${f.name}.gz`), `man page ${f.name}`);
  }
  assert.ok(c.sh('cat /var/lib/dpkg/info/ferry.conffiles').includes('/etc/ferry/ferryd.conf'));
  assert.match(c.sh('getent group ferry'), /^ferry:/);
  assert.match(c.sh('getent passwd ferry-qemu').trim(), /:\/usr\/sbin\/nologin$/);
});

test('an upgrade (the same package again) restarts ferryd and leaves ferry-lockd running', async () => {
  const pid = (unit: string): string => c.sh(`systemctl show -P MainPID ${unit}`).trim();
  const [ferryd, lockd] = [pid('ferryd.service'), pid('ferry-lockd.service')];
  assert.notEqual(lockd, '0', 'ferry-lockd.service runs after the install');
  c.sh(`dpkg -i /mnt/build/${basename(deb)} >/tmp/upgrade.log 2>&1 || { cat /tmp/upgrade.log; exit 1; }`);
  await until('systemctl is-active --quiet ferryd.service', 'ferryd.service active after the upgrade');
  assert.notEqual(pid('ferryd.service'), ferryd, 'ferryd restarted with the new code');
  assert.equal(pid('ferry-lockd.service'), lockd, 'ferry-lockd (the leases) untouched');
  await until('ferry list --all >/dev/null 2>&1', 'the restarted ferryd answering');
});

test('remove stops ferryd and keeps the state and configuration; purge removes them', () => {
  c.sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq ferry >/tmp/remove.log 2>&1 || { cat /tmp/remove.log; exit 1; }');
  assert.notEqual(c.run(['systemctl', 'is-active', '--quiet', 'ferryd.service'], { check: false }).status, 0);
  assert.ok(c.run(['test', '-d', '/var/lib/ferry'], { check: false }).status === 0, 'state kept on remove');
  assert.ok(c.run(['test', '-f', '/etc/ferry/ferryd.conf'], { check: false }).status === 0, 'configuration kept on remove');
  c.sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ferry >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; exit 1; }');
  assert.notEqual(c.run(['test', '-e', '/etc/ferry'], { check: false }).status, 0, 'configuration purged');
  assert.notEqual(c.run(['test', '-e', '/var/lib/ferry'], { check: false }).status, 0, 'state purged');
});
