import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { labClientPkiDir } from '../../lab/pki.js';
import { ClusterCa } from '../../src/transport/cluster-ca.js';
import type { CliResult } from '../helpers/ferryd.js';
import { guestXml, REPO_ROOT } from '../helpers/guest.js';
import { ferryOnHost, ferryOnSwitch, okOnHost } from '../helpers/lab-cli.js';
import { eventually } from '../helpers/processes.js';
import { cookedTerminal, PtyCli } from '../helpers/pty-cli.js';
import { tempDir } from '../helpers/tmp.js';

const FERRY = `${REPO_ROOT}bin/ferry`;

/** A raw HTTPS request from the switch with whatever certificates (or none): did ferryd answer at all? */
function rawTlsRequest(lab: Lab, host: string, o: { ca: string; cert?: string; key?: string }): Promise<{ status?: number; error?: string }> {
  const script = `
    const https = require('node:https'); const fs = require('node:fs');
    const o = JSON.parse(process.argv[1]);
    const req = https.request({ host: o.host, port: 16520, path: '/v1/domains', ca: fs.readFileSync(o.ca),
      ...(o.cert ? { cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key) } : {}) }, (res) => {
      let body = ''; res.on('data', (c) => body += c); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
    });
    req.on('error', (e) => console.log(JSON.stringify({ error: e.code || e.message })));
    req.end();`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', lab.plan.switchNs, process.execPath, '-e', script, JSON.stringify({ ...o, host: lab.host(host).mgmtAddress })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim()) as { status?: number; error?: string });
      } catch {
        reject(new Error(`no answer from the raw TLS client: ${out}`));
      }
    });
  });
}

/** The ferry CLI as another Unix user (uid 4242), in or out of the ferry group; it may still read this checkout. */
function ferryAsUser(groups: number[], ...args: string[]): Promise<CliResult> {
  const setpriv = [
    '--reuid',
    '4242',
    '--regid',
    '4242',
    ...(groups.length > 0 ? ['--groups', groups.join(',')] : ['--clear-groups']),
    '--inh-caps',
    '+dac_read_search',
    '--ambient-caps',
    '+dac_read_search',
    process.execPath,
    FERRY,
    ...args,
  ];
  return new Promise((resolve) => {
    const child = spawn('setpriv', setpriv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: '/nonexistent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function ferryGroupId(): number {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ferry:'));
  if (!line) throw new Error('the ferry group does not exist: scripts/setup.sh creates it');
  return Number(line.split(':')[2]);
}

/**
 * The ways in, and the ways not in: ssh to a real sshd (the seed's
 * passwordless root ssh), mutual TLS with certificates from `ferry cert-*`,
 * the local socket's group and the read-only socket, and what each refuses.
 */
describe('transports and access control on lab hosts', () => {
  const dir = tempDir('ferry-e2e-transports-');
  let lab: Lab;

  before(async () => {
    lab = await Lab.up({ hosts: 2, dir: `${dir.path}/lab`, prefix: 'fe2etr' });
    // A shell on ttyS1 for the console over ssh.
    writeFileSync(
      `${dir.path}/idle.xml`,
      guestXml({ name: 'idle', memoryMiB: 128, touchMiB: 8, extraCmdline: 'ferry.shells=ttyS1', devices: "<serial type='pty'/>" }),
    );
    await okOnHost(lab, 'h2', 'define', `${dir.path}/idle.xml`);
  });

  after(async () => {
    await lab?.down();
    dir.cleanup();
  });

  it("qemu+ssh://h2/system from h1 (root's key, known_hosts in /root/.ssh) and ferry+ssh:// with ?keyfile= from the switch reach h2's ferryd", async () => {
    assert.match(await okOnHost(lab, 'h1', '-c', 'qemu+ssh://h2/system', 'list', '--all'), /idle\s+shut off/);
    assert.match(await okOnHost(lab, 'h1', '-c', 'ferry+ssh://root@h2/system', 'dominfo', 'idle'), /Name:\s+idle/);
    const r = await ferryOnSwitch(lab, '-c', lab.sshUri(lab.host('h2')), 'list', '--all');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /idle\s+shut off/);
  });

  it('ferry console over qemu+ssh:// from h1, on a real terminal: keystrokes reach the guest on h2, ^] leaves it', async () => {
    await okOnHost(lab, 'h2', 'start', 'idle');
    const shellLog = `${lab.host('h2').stateDir}/log/idle-serial1.log`;
    await eventually(() => existsSync(shellLog) && /\/ # /.test(readFileSync(shellLog, 'utf8')), "the guest's shell on ttyS1", 60_000);
    const [cmd, argv] = lab.onHostArgv(lab.host('h1'), process.execPath, FERRY, '-c', 'qemu+ssh://h2/system', 'console', 'idle', '--devname', 'serial1');
    const term = new PtyCli([cmd, ...argv]);
    try {
      await term.waitFor(/Connected to domain 'idle'\r\nEscape character is \^\] \(Ctrl \+ \]\)\r\n/, 'the banner');
      term.type('echo ssh-$((6*7))\r');
      await term.waitFor(/\bssh-42\r\n/, "the shell's answer over ssh");
      term.type('\x1d');
      const r = await term.result();
      assert.equal(r.code, 0, r.output);
      assert.ok(cookedTerminal(r.stty), r.stty);
    } finally {
      term.kill();
      await okOnHost(lab, 'h2', 'destroy', 'idle');
    }
  });

  it("ssh without an authorized key fails with ssh's reason and the ssh-copy-id hint, never a password prompt", async () => {
    const other = `${dir.path}/stranger_key`;
    await new Promise<void>((resolve, reject) =>
      spawn('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]).on('close', (c) => (c === 0 ? resolve() : reject(new Error('ssh-keygen')))),
    );
    const uri = `ferry+ssh://root@h2/system?keyfile=${other}&known_hosts=${lab.plan.dir}/ssh/known_hosts`;
    const r = await ferryOnSwitch(lab, '-c', uri, 'list');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: failed to connect to the hypervisor\nerror: Cannot connect to root@h2 with ssh: .*Permission denied \(publickey\)/);
    assert.match(r.stderr, /hint: Set up passwordless ssh .*ssh-copy-id root@h2/);
  });

  it('ferry+tls:// with an admin certificate may do everything; a read-only certificate may only look', async () => {
    const admin = lab.tlsUri(lab.host('h2'), 'admin');
    const ro = lab.tlsUri(lab.host('h2'), 'readonly');
    const adminRun = await ferryOnSwitch(lab, '-c', admin, 'start', 'idle');
    assert.equal(adminRun.code, 0, adminRun.stderr);
    assert.match(adminRun.stdout, /Domain 'idle' started/);
    const looks = await ferryOnSwitch(lab, '-c', ro, 'list');
    assert.equal(looks.code, 0, looks.stderr);
    assert.match(looks.stdout, /idle\s+running/);
    const refused = await ferryOnSwitch(lab, '-c', ro, 'destroy', 'idle');
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr.split('\n').slice(0, 2).join('\n'),
      "error: Failed to destroy domain 'idle'\nerror: operation forbidden: read only access prevents virDomainDestroy",
    );
    const migrate = await ferryOnSwitch(lab, '-c', ro, 'migrate', '--live', 'idle', lab.peerUri(lab.host('h1')));
    assert.equal(migrate.code, 1);
    assert.match(migrate.stderr, /operation forbidden: read only access prevents virDomainMigratePerform3Params/);
    assert.match(await okOnHost(lab, 'h2', 'domstate', 'idle'), /running/);
    await okOnHost(lab, 'h2', 'destroy', 'idle');
  });

  it('a client without a certificate, or with one from another CA, gets no HTTP answer at all', async () => {
    const clientDir = labClientPkiDir(lab.plan, 'admin');
    const ca = `${clientDir}/ca-cert.pem`;
    const good = await rawTlsRequest(lab, 'h2', { ca, cert: `${clientDir}/client-cert.pem`, key: `${clientDir}/client-key.pem` });
    assert.equal(good.status, 200, "the same request with the lab's admin certificate is answered");
    const none = await rawTlsRequest(lab, 'h2', { ca });
    assert.equal(none.status, undefined, `no certificate: refused in the handshake (${none.error})`);
    assert.ok(none.error, 'the client saw the connection refused');

    const strangerCa = new ClusterCa(`${dir.path}/other-ca`);
    await strangerCa.create({ name: 'someone else', days: 1 });
    const eve = await strangerCa.issueClient({ name: 'eve', readonly: false, out: `${dir.path}/eve`, days: 1 });
    const forged = await rawTlsRequest(lab, 'h2', { ca, cert: `${eve.dir}/client-cert.pem`, key: `${eve.dir}/client-key.pem` });
    assert.equal(forged.status, undefined, `a certificate from another CA: refused (${forged.error})`);

    // The CLI says so too: it trusts the lab's CA, but presents eve's certificate.
    const mixed = `${dir.path}/eve-with-lab-ca`;
    mkdirSync(mixed);
    copyFileSync(ca, `${mixed}/ca-cert.pem`);
    copyFileSync(`${eve.dir}/client-cert.pem`, `${mixed}/client-cert.pem`);
    copyFileSync(`${eve.dir}/client-key.pem`, `${mixed}/client-key.pem`);
    const cli = await ferryOnSwitch(lab, '-c', `ferry+tls://h2/system?pkipath=${mixed}`, 'list');
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /error: failed to connect to the hypervisor\nerror: unable to connect to server at 'h2:16520': /);

    // And a client that trusts another CA refuses h2's certificate.
    const wrongTrust = await ferryOnSwitch(lab, '-c', `ferry+tls://h2/system?pkipath=${eve.dir}`, 'list');
    assert.equal(wrongTrust.code, 1);
    assert.match(wrongTrust.stderr, /the server's certificate is not signed by our CA/);
  });

  it("the peer API answers host certificates only: an operator's certificate is refused", async () => {
    const clientDir = labClientPkiDir(lab.plan, 'admin');
    const script = `
      const https = require('node:https'); const fs = require('node:fs'); const d = process.argv[1];
      const req = https.request({ host: 'h2', port: 16520, method: 'POST', path: '/peer/v1/preflight', headers: { 'content-type': 'application/json' },
        ca: fs.readFileSync(d + '/ca-cert.pem'), cert: fs.readFileSync(d + '/client-cert.pem'), key: fs.readFileSync(d + '/client-key.pem') },
        (res) => { let b = ''; res.on('data', (c) => b += c); res.on('end', () => console.log(res.statusCode + ' ' + b)); });
      req.end('{"request":{}}');`;
    const out = await new Promise<string>((resolve) => {
      const child = spawn('ip', ['netns', 'exec', lab.plan.switchNs, process.execPath, '-e', script, clientDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      child.stdout.on('data', (c: Buffer) => (s += c.toString()));
      child.on('close', () => resolve(s));
    });
    assert.match(out, /^403 .*"code":"ACCESS_DENIED".*the peer API is for ferry hosts/);
  });

  it('the local socket: root and the ferry group get in, other users do not; -r and the read-only socket only look', async () => {
    const socket = lab.host('h2').socket;
    const ro = socket.replace(/\.sock$/, '-ro.sock');
    const outsider = await ferryAsUser([], '-c', `ferry:///system?socket=${socket}`, 'list', '--all');
    assert.equal(outsider.code, 1);
    assert.equal(
      outsider.stderr.split('\n').slice(0, 2).join('\n'),
      `error: failed to connect to the hypervisor\nerror: Failed to connect socket to '${socket}': Permission denied`,
    );
    const member = await ferryAsUser([ferryGroupId()], '-c', `ferry:///system?socket=${socket}`, 'list', '--all');
    assert.equal(member.code, 0, member.stderr);
    assert.match(member.stdout, /idle\s+shut off/);

    const looker = await ferryAsUser([], '-r', '-c', `ferry:///system?socket=${ro}`, 'list', '--all');
    assert.equal(looker.code, 0, looker.stderr);
    assert.match(looker.stdout, /idle/);
    const starter = await ferryAsUser([], '-r', '-c', `ferry:///system?socket=${ro}`, 'start', 'idle');
    assert.equal(starter.code, 1);
    assert.match(starter.stderr, /operation forbidden: read only access prevents virDomainCreate/);

    // Root asking for a read-only connection (virsh -r) is held to it, on the default socket inside the host.
    const rootRo = await ferryOnHost(lab, 'h2', '-r', 'migrate', '--live', 'idle', lab.peerUri(lab.host('h1')));
    assert.equal(rootRo.code, 1);
    assert.match(rootRo.stderr, /operation forbidden: read only access prevents virDomainMigratePerform3Params/);
  });

  it('the commands the lab prints for its users work as printed, for a lab outside the default directory (npm run demo -- --keep prints them)', () => {
    const status = spawnSync('bash', ['scripts/lab.sh', 'status', '--dir', lab.plan.dir], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    const printed = status.stdout
      .split('\n')
      .filter((l) => l.startsWith('  scripts/lab.sh '))
      .map((l) => l.trim());
    assert.ok(printed.length >= 4, status.stdout);
    for (const line of printed) assert.ok(line.includes(`--dir ${lab.plan.dir}`), `names the lab: ${line}`);
    const run = (line: string | undefined): { status: number | null; stdout: string; stderr: string } => {
      assert.ok(line, 'the line is printed');
      return spawnSync('bash', ['-c', line], { cwd: REPO_ROOT, encoding: 'utf8' });
    };
    const list = run(printed.find((l) => l.endsWith(' h1 ferry list --all')));
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^ Id +Name +State\n/);
    const again = run(printed.find((l) => / status --dir /.test(l)));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`ferry lab '${lab.plan.prefix}' in ${lab.plan.dir}`));
    const h2 = run(printed.find((l) => l.endsWith(' h1 ferry list --all'))?.replace(' h1 ', ' h2 '));
    assert.match(h2.stdout, /\bidle\b/, 'and on the other host, where the test defined a domain');
  });
});
