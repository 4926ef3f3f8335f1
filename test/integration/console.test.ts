import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ClusterCa } from '../../src/pki/cluster-ca.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { eventually } from '../helpers/processes.js';
import { cookedTerminal, PtyCli } from '../helpers/pty-cli.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/two-hosts.js';

const readIfThere = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
const BANNER = /Connected to domain 'con'\r\nEscape character is \^\] \(Ctrl \+ \]\)\r\n/;
const ESCAPE = '\x1d';

/**
 * ferry console on one real guest, as a person uses it on a terminal (a real
 * pty): ttyS0 carries ferry-load's heartbeat, ttyS1 (a pty chardev) and ttyS2
 * (a unix socket QEMU listens on) each a shell (ferry.shells=). Keystrokes
 * reach the shell, one session per device, read-only refused, over the local
 * socket and mutual TLS, and the session ends when the domain stops.
 */
describe('ferry console', () => {
  const dir = tempDir('ferry-console-');
  const ca = new ClusterCa(`${dir.path}/ca`);
  const pki = { host: `${dir.path}/host`, admin: `${dir.path}/admin`, readonly: `${dir.path}/readonly` };
  let host: FerrydHost;
  let env: Record<string, string>;
  let tlsUri: (who: 'admin' | 'readonly') => string;
  const sessions: PtyCli[] = [];
  const open = (...args: string[]): PtyCli => {
    const s = PtyCli.ferry(['console', ...args], env);
    sessions.push(s);
    return s;
  };

  before(async () => {
    await ca.create({ name: 'console test CA', days: 1 });
    await ca.issueHost({ hostname: 'localhost', addresses: ['127.0.0.1'], dnsNames: [], out: pki.host, days: 1 });
    await ca.issueClient({ name: 'alice', readonly: false, out: pki.admin, days: 1 });
    await ca.issueClient({ name: 'bob', readonly: true, out: pki.readonly, days: 1 });
    const port = await freePort();
    tlsUri = (who) => `ferry+tls://127.0.0.1:${port}/system?pkipath=${pki[who]}`;
    writeFileSync(`${dir.path}/ferryd.conf`, `tls_dir = "${pki.host}"\n`);
    host = new FerrydHost({ dir: `${dir.path}/h`, listen: `127.0.0.1:${port}`, config: `${dir.path}/ferryd.conf` });
    await host.start();
    env = { FERRY_DEFAULT_URI: host.uri };
    // QEMU (its own unprivileged user) makes the socket of ttyS2 here.
    mkdirSync(`${dir.path}/sock`);
    chmodSync(`${dir.path}/sock`, 0o777);
    writeFileSync(`${dir.path}/con.xml`, guestXml({
      name: 'con', extraCmdline: 'ferry.shells=ttyS1,ttyS2,hvc0',
      devices: `<serial type='pty'/><serial type='unix'><source mode='bind' path='${dir.path}/sock/con-ttyS2.sock'/></serial>
        <console type='pty'><log file='${dir.path}/hvc0.log'/><target type='virtio'/></console>`,
    }));
    await host.ok('define', `${dir.path}/con.xml`);
    await host.ok('start', 'con');
    // The shells' prompts, in the log copies QEMU keeps of each port.
    await eventually(() => /\/ # /.test(host.serialLog('con', 1)) && /\/ # /.test(host.serialLog('con', 2)) && /\/ # /.test(readIfThere(`${dir.path}/hvc0.log`)),
      'the guest\'s shells on ttyS1, ttyS2 and hvc0', 60_000);
  });

  after(async () => {
    for (const s of sessions) s.kill();
    await host?.ferry('destroy', 'con');
    await host?.stopAll();
    dir.cleanup();
  });

  it('shows the guest\'s output; keystrokes reach a shell; ^] ends the session and puts the terminal back', async () => {
    const first = open('con');
    const at = await first.waitFor(BANNER, 'the banner');
    await first.waitFor(/ferry-load: hb seq=\d+/, 'a heartbeat on the default console (serial0)', { from: at });
    first.type(ESCAPE);
    const done = await first.result();
    assert.equal(done.code, 0, done.output);
    assert.ok(cookedTerminal(done.stty), `the terminal is back in its normal modes:\n${done.stty}`);

    const shell = open('con', '--devname', 'serial1');
    await shell.waitFor(BANNER, 'the banner');
    shell.type('echo hi-$((6*7))\r');
    await shell.waitFor(/\bhi-42\r\n/, 'the shell\'s answer');
    shell.type(ESCAPE);
    const r = await shell.result();
    assert.equal(r.code, 0, r.output);
    assert.ok(cookedTerminal(r.stty), r.stty);
    assert.match(host.serialLog('con', 1), /\bhi-42\r?\n/, 'QEMU still copies the port\'s output to its log');
  });

  it('a second session on the device is refused as virsh refuses it; --force takes it over and the first ends saying why', async () => {
    const holder = open('con', '--devname', 'serial1');
    await holder.waitFor(BANNER, 'the banner');
    const second = await host.ferry('console', 'con', '--devname', 'serial1');
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^error: operation failed: Active console session exists for this domain\nhint: .*--force" \[CONSOLE_BUSY\]\n$/);

    const taker = open('con', '--devname', 'serial1', '--force');
    await taker.waitFor(BANNER, 'the banner');
    const ousted = await holder.result();
    assert.equal(ousted.code, 1);
    assert.match(ousted.output, /error: another client took over the console of domain 'con' \(--force\)/);
    assert.ok(cookedTerminal(ousted.stty), ousted.stty);
    taker.type('echo forced-$((6*7))\r');
    await taker.waitFor(/\bforced-42\r\n/, 'the shell answering the new session');
    taker.type(ESCAPE);
    assert.equal((await taker.result()).code, 0);
  });

  it('read-only connections are refused: the read-only socket (-r) and a read-only certificate', async () => {
    for (const args of [['-r', 'console', 'con'], ['-c', tlsUri('readonly'), 'console', 'con']]) {
      const r = await host.ferry(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^error: operation forbidden: read only access prevents virDomainOpenConsole\n/, args.join(' '));
    }
  });

  it('over ferry+tls:// with an operator certificate, on a unix socket device', async () => {
    const s = PtyCli.ferry(['-c', tlsUri('admin'), 'console', 'con', '--devname', 'serial2'], env);
    sessions.push(s);
    await s.waitFor(BANNER, 'the banner');
    s.type('echo tls-$((6*7))\r');
    await s.waitFor(/\btls-42\r\n/, 'the shell on ttyS2');
    s.type(ESCAPE);
    assert.equal((await s.result()).code, 0);
    assert.match(host.serialLog('con', 2), /\btls-42\r?\n/);
  });

  it('a virtio console (hvc0 in the guest) is a device of its own: console1 here, the first console being serial0', async () => {
    const s = open('con', '--devname', 'console1');
    await s.waitFor(BANNER, 'the banner');
    s.type('echo hvc-$((6*7))\r');
    await s.waitFor(/\bhvc-42\r\n/, 'the shell on hvc0');
    s.type(ESCAPE);
    assert.equal((await s.result()).code, 0);
    assert.match(readIfThere(`${dir.path}/hvc0.log`), /\bhvc-42\r?\n/, 'QEMU copies a virtio console\'s output to its <log> too');
  });

  it('--resume resumes a paused domain once connected; the session ends with the domain; a shut-off domain has no console', async () => {
    await host.ok('suspend', 'con');
    const s = open('con', '--resume');
    const at = await s.waitFor(BANNER, 'the banner');
    await host.waitState('con', 'running (unpaused)');
    await s.waitFor(/ferry-load: hb seq=\d+/, 'the heartbeat again', { from: at });
    await host.ok('destroy', 'con');
    const r = await s.result();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /domain 'con' shut off \(destroyed\)/);
    assert.ok(cookedTerminal(r.stty), r.stty);
    const off = await host.ferry('console', 'con');
    assert.equal(off.code, 1);
    assert.match(off.stderr, /^error: The domain is not running\n/);
  });
});
