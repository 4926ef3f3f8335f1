import assert from 'node:assert/strict';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ClusterCa } from '../../src/transport/cluster-ca.js';
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
  const fwdConnections: net.Socket[] = [];
  const fwdServer = net.createServer((c) => fwdConnections.push(c));
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
    // A pipe channel's FIFOs (the user makes them; ferryd hands them to QEMU's user) and the socket a guestfwd channel connects to.
    execFileSync('mkfifo', ['-m', '0600', `${dir.path}/pipe.in`, `${dir.path}/pipe.out`]);
    await new Promise<void>((resolve) => fwdServer.listen(`${dir.path}/sock/fwd.sock`, resolve));
    writeFileSync(
      `${dir.path}/con.xml`,
      guestXml({
        name: 'con',
        extraCmdline: 'ferry.shells=ttyS1,ttyS2,hvc0',
        devices: `<serial type='pty'/><serial type='unix'><source mode='bind' path='${dir.path}/sock/con-ttyS2.sock'/></serial>
        <serial type='vc'/>
        <console type='pty'><log file='${dir.path}/hvc0.log'/><target type='virtio'/></console>
        <channel type='pipe'><source path='${dir.path}/pipe'/><target type='virtio' name='org.ferry.pipe'/></channel>
        <channel type='unix'><source mode='connect' path='${dir.path}/sock/fwd.sock'/><target type='guestfwd' address='10.0.2.100' port='4600'/></channel>`,
      }),
    );
    await host.ok('define', `${dir.path}/con.xml`);
    await host.ok('start', 'con');
    // The shells' prompts, in the log copies QEMU keeps of each port.
    await eventually(
      () => /\/ # /.test(host.serialLog('con', 1)) && /\/ # /.test(host.serialLog('con', 2)) && /\/ # /.test(readIfThere(`${dir.path}/hvc0.log`)),
      "the guest's shells on ttyS1, ttyS2 and hvc0",
      60_000,
    );
  });

  after(async () => {
    for (const s of sessions) s.kill();
    for (const c of fwdConnections) c.destroy();
    fwdServer.close();
    await host?.ferry('destroy', 'con');
    await host?.stopAll();
    dir.cleanup();
  });

  it("shows the guest's output; keystrokes reach a shell; ^] ends the session and puts the terminal back", async () => {
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
    await shell.waitFor(/\bhi-42\r\n/, "the shell's answer");
    shell.type(ESCAPE);
    const r = await shell.result();
    assert.equal(r.code, 0, r.output);
    assert.ok(cookedTerminal(r.stty), r.stty);
    assert.match(host.serialLog('con', 1), /\bhi-42\r?\n/, "QEMU still copies the port's output to its log");
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
    for (const args of [
      ['-r', 'console', 'con'],
      ['-c', tlsUri('readonly'), 'console', 'con'],
    ]) {
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
    assert.match(readIfThere(`${dir.path}/hvc0.log`), /\bhvc-42\r?\n/, "QEMU copies a virtio console's output to its <log> too");
  });

  it("a vc serial port has no session (coded error) and still carries the guest's output; a pipe channel writes to its FIFO; a guestfwd channel is its own user network", async () => {
    const vc = await host.ferry('console', 'con', '--devname', 'serial3');
    assert.equal(vc.code, 1);
    assert.match(
      vc.stderr,
      /^error: internal error: character device serial3 is not using a PTY \(type 'vc': a text console on the domain's graphical display.*\[CONSOLE_NOT_PTY\]\n$/s,
    );

    const shell = open('con', '--devname', 'serial1');
    await shell.waitFor(BANNER, 'the banner');
    shell.type('echo vc-$((6*7)) > /dev/ttyS3; echo pipe-$((6*7)) > /dev/virtio-ports/org.ferry.pipe; echo sent-$((6*7))\r');
    await shell.waitFor(/\bsent-42\r\n/, 'the shell having written both');
    shell.type(ESCAPE);
    assert.equal((await shell.result()).code, 0);
    // QEMU's vc chardev keeps the log copy of serial3: the guest's bytes went through it.
    await eventually(() => /\bvc-42\r?\n/.test(host.serialLog('con', 3)), "the vc port's output in its log copy", 10_000);
    // QEMU opened pipe.in and pipe.out (handed to its user), and the port's output is in pipe.out.
    const out = openSync(`${dir.path}/pipe.out`, constants.O_RDWR | constants.O_NONBLOCK);
    let got = '';
    try {
      await eventually(
        () => {
          const buf = Buffer.alloc(256);
          try {
            got += buf.subarray(0, readSync(out, buf)).toString();
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          }
          return /\bpipe-42\n/.test(got);
        },
        "the pipe channel's output in pipe.out",
        10_000,
      );
    } finally {
      closeSync(out);
    }

    // The guestfwd channel: QEMU connected to the socket at start, slirp holds the chardev, and the netdev is there.
    assert.ok(fwdConnections.length >= 1, "QEMU connected to the guestfwd channel's socket");
    const chardevs = (
      JSON.parse(await host.ok('qemu-monitor-command', 'con', '{"execute":"query-chardev"}')) as {
        return: Array<{ label: string; filename: string; 'frontend-open': boolean }>;
      }
    ).return;
    const byLabel = new Map(chardevs.map((c) => [c.label, c]));
    assert.deepEqual(byLabel.get('charserial3'), { label: 'charserial3', filename: 'vc', 'frontend-open': true });
    assert.equal(byLabel.get('charchannel0')?.filename, 'pipe');
    assert.equal(byLabel.get('charchannel1')?.filename, `unix:${dir.path}/sock/fwd.sock`);
    assert.equal(byLabel.get('charchannel1')?.['frontend-open'], true, "slirp's guestfwd opened the chardev");
    const network = (
      JSON.parse(await host.ok('qemu-monitor-command', 'con', '{"execute":"human-monitor-command","arguments":{"command-line":"info network"}}')) as {
        return: string;
      }
    ).return;
    assert.match(network, /^channel1: index=\d+,type=user,net=10\.0\.2\.0/m);
    const xml = await host.ok('dumpxml', 'con', '--inactive');
    assert.match(
      xml,
      /<channel type='unix'>\s*<source mode='connect' path='[^']+\/fwd\.sock'\/>\s*<target type='guestfwd' address='10\.0\.2\.100' port='4600'\/>\s*<\/channel>/,
    );
    assert.match(xml, /<serial type='vc'>/);
    assert.match(xml, /<channel type='pipe'>\s*<source path='[^']+\/pipe'\/>/);
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
