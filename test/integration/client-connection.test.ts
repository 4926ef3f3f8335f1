import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { stageCli, type StagedCli } from '../helpers/staged-cli.js';
import { tempDir } from '../helpers/tmp.js';

const USER = 'ferry-uritest';

/** The user's primary group id (nobody's is nogroup on Debian). */
function primaryGroup(user: string): string {
  return execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim();
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI where the test's users can read it (staged in before()). */
let cli: StagedCli;

/**
 * Runs the CLI as `user` (its own groups from /etc/group, as a login gives
 * them) in a private mount namespace where the test ferryd's directory is
 * /run/ferry, so its socket is the system socket /run/ferry/ferryd.sock, and
 * `etc` (when given) is /etc/ferry. No FERRY_DEFAULT_URI unless env sets it.
 */
function ferryAs(user: string, hostDir: string, etc: string | undefined, args: string[], env: Record<string, string> = {}): Promise<Run> {
  // The mount points exist on a host where ferry was installed; a fresh test machine gets them (empty) here.
  const script = 'mkdir -p /run/ferry /etc/ferry && mount --bind "$1" /run/ferry && { [ -z "$2" ] || mount --bind "$2" /etc/ferry; } && shift 2 && exec "$@"';
  const argv = [
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    script,
    'sh',
    hostDir,
    etc ?? '',
    'setpriv',
    `--reuid=${user}`,
    `--regid=${primaryGroup(user)}`,
    '--init-groups',
    process.execPath,
    cli.path,
    ...args,
  ];
  return new Promise((resolve) => {
    execFile('unshare', argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Which daemon a plain `ferry` reaches, for real users against a real ferryd
 * serving the system socket: a member of the ferry group gets the system
 * daemon (it used to get ferry:///session, where nothing listens), a user
 * outside it the session one (and the system daemon's read-only socket with
 * -r); the client config files (libvirt.conf's uri_default and uri_aliases)
 * and FERRY_DEFAULT_URI in libvirt's order; a bad file fails with its line.
 */
describe("connections like libvirt's: default URI, client config, aliases", () => {
  const dir = tempDir('ferry-conn-');
  const host = new FerrydHost({ dir: join(dir.path, 'h') });
  const etc = join(dir.path, 'etc');
  const xdg = join(dir.path, 'xdg');

  before(async () => {
    try {
      execFileSync('userdel', [USER], { stdio: 'ignore' });
    } catch {
      // not left over
    }
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--groups', 'ferry', USER]);
    cli = stageCli();
    await host.start();
    const r = await host.apiPost('/v1/domains', {
      xml: "<domain type='qemu'><name>conn-vm</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>",
    });
    assert.ok(r.status < 300, JSON.stringify(r.body));
    mkdirSync(etc);
    mkdirSync(join(xdg, 'ferry'), { recursive: true });
  });

  after(async () => {
    await host.stopAll();
    execFileSync('userdel', [USER]);
    cli?.cleanup();
    dir.cleanup();
  });

  it('a ferry group member reaches the system daemon by default; a user outside the group the session one, or the read-only socket with -r', async () => {
    // Each CLI run is a Node.js start: three runs say it all.
    const [list, nobodyUri, nobodyList] = await Promise.all([
      ferryAs(USER, host.options.dir, undefined, ['list', '--all', '--name']),
      ferryAs('nobody', host.options.dir, undefined, ['uri']),
      ferryAs('nobody', host.options.dir, undefined, ['-r', 'list', '--all', '--name']),
    ]);
    assert.equal(list.code, 0, `the group member reaches the system socket: ${list.stderr}`);
    assert.equal(list.stdout.trim(), 'conn-vm');
    assert.equal(nobodyUri.stdout.trim(), 'ferry:///session', nobodyUri.stderr);
    assert.equal(nobodyList.stdout.trim(), 'conn-vm', `-r: the system daemon's read-only socket: ${nobodyList.stderr}`);
  });

  it("uri_default and uri_aliases: the user's file over the system's, FERRY_DEFAULT_URI over both, -c over all; an alias is expanded", async () => {
    writeFileSync(join(etc, 'ferry.conf'), 'uri_default = "ferry:///session"\nuri_aliases = [ "here=ferry:///system" ]\n');
    const env = { XDG_CONFIG_HOME: xdg };
    writeFileSync(join(xdg, 'ferry', 'ferry.conf'), "# the user's\n");
    const systemOnly = await ferryAs(USER, host.options.dir, etc, ['uri'], env);
    assert.equal(systemOnly.stdout.trim(), 'ferry:///session', `the system file's uri_default: ${systemOnly.stderr}`);
    writeFileSync(join(xdg, 'ferry', 'ferry.conf'), 'uri_default = "here"   # an alias from the system file\n');
    // (-c over FERRY_DEFAULT_URI is in the unit test, src/cli/client-config.test.ts.)
    const [user, envWins, cAlias] = await Promise.all([
      ferryAs(USER, host.options.dir, etc, ['list', '--all', '--name'], env),
      ferryAs(USER, host.options.dir, etc, ['uri'], { ...env, FERRY_DEFAULT_URI: 'ferry:///system?socket=/elsewhere.sock' }),
      ferryAs('nobody', host.options.dir, etc, ['-r', '-c', 'here', 'list', '--all', '--name'], env),
    ]);
    assert.equal(user.stdout.trim(), 'conn-vm', `the user's uri_default, an alias: ${user.stderr}`);
    assert.equal(envWins.stdout.trim(), 'ferry:///system?socket=/elsewhere.sock');
    assert.equal(cAlias.stdout.trim(), 'conn-vm', `-c with an alias: ${cAlias.stderr}`);
  });

  it('a malformed client config fails with its file and line, a hint and CLIENT_CONFIG_INVALID', async () => {
    writeFileSync(join(xdg, 'ferry', 'ferry.conf'), 'uri_default = "ferry:///system"\nuri_aliases = [ "lab" ]\n');
    const r = await ferryAs(USER, host.options.dir, etc, ['list'], { XDG_CONFIG_HOME: xdg });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `error: ${xdg}/ferry/ferry.conf:2: Malformed 'uri_aliases' config entry 'lab', expected 'alias=uri://host/path'\\nhint: Fix the named line.*\\[CLIENT_CONFIG_INVALID\\]`,
      ),
    );
  });
});
