import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/two-hosts.js';

const sh = (cmd: string, args: string[], env: Record<string, string> = {}): string =>
  execFileSync(cmd, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * An ssh disk on real QEMU (block-ssh) against a real sshd on a private
 * loopback port serving a raw image over SFTP: the server's key is checked
 * against <knownHosts> (a wrong key fails the start, a file without the host
 * is refused before QEMU runs), QEMU logs in as <identity username> through
 * the ssh-agent of <identity agentsock> (run as QEMU's user, as ssh-agent
 * serves only its own user), and reads and writes the image.
 */
describe('ssh disks (QEMU ssh driver, real sshd)', () => {
  const dir = tempDir('ferry-ssh-');
  const host = new FerrydHost({ dir: `${dir.path}/host` });
  const children: ChildProcess[] = [];
  const image = `${dir.path}/disk.raw`;
  const agentSock = `${dir.path}/agent/agent.sock`;
  let port = 0;

  const qmp = async <T>(execute: string, args?: Record<string, unknown>): Promise<T> =>
    (JSON.parse(await host.ok('qemu-monitor-command', 'sshdisk', JSON.stringify(args ? { execute, arguments: args } : { execute }))) as { return: T }).return;
  const hmp = (line: string): Promise<string> => qmp<string>('human-monitor-command', { 'command-line': line });

  const define = async (knownHosts: string): Promise<void> => {
    await host.ferry('destroy', 'sshdisk');
    await host.ferry('undefine', 'sshdisk');
    const file = `${dir.path}/sshdisk.xml`;
    writeFileSync(
      file,
      guestXml({
        name: 'sshdisk',
        disks: `<disk type='network' device='disk'><driver name='qemu' type='raw'/>
        <source protocol='ssh' name='${image}'><host name='127.0.0.1' port='${port}'/>
          <knownHosts path='${knownHosts}'/><identity username='root' agentsock='${agentSock}'/></source>
        <target dev='vdb' bus='virtio'/></disk>`,
      }),
    );
    await host.ok('define', file);
  };

  before(async () => {
    port = await freePort();
    const [uid, gid] = [Number(sh('id', ['-u', 'ferry-qemu']).trim()), Number(sh('id', ['-g', 'ferry-qemu']).trim())];
    for (const k of ['hostkey', 'otherkey', 'userkey']) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir.path}/${k}`]);
    const hostPub = readFileSync(`${dir.path}/hostkey.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const otherPub = readFileSync(`${dir.path}/otherkey.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(`${dir.path}/known_hosts`, `# the test's sshd\n[127.0.0.1]:${port} ${hostPub}\n`);
    writeFileSync(`${dir.path}/known_hosts.wrong`, `[127.0.0.1]:${port} ${otherPub}\n`);
    writeFileSync(`${dir.path}/known_hosts.none`, `[127.0.0.1]:${port + 1} ${hostPub}\n`);
    writeFileSync(`${dir.path}/authorized_keys`, readFileSync(`${dir.path}/userkey.pub`));
    writeFileSync(image, Buffer.alloc(1 << 20, 0xab));
    writeFileSync(
      `${dir.path}/sshd_config`,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${dir.path}/hostkey`,
        `PidFile ${dir.path}/sshd.pid`,
        `AuthorizedKeysFile ${dir.path}/authorized_keys`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
    );
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
    const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', `${dir.path}/sshd_config`], { stdio: 'ignore' });
    children.push(sshd);

    // The agent runs as QEMU's user (ssh-agent answers its own user only) and holds the login key.
    mkdirSync(`${dir.path}/agent`);
    chownSync(`${dir.path}/agent`, uid, gid);
    chownSync(`${dir.path}/userkey`, uid, gid);
    const asQemu = ['--reuid', String(uid), '--regid', String(gid), '--clear-groups'];
    children.push(spawn('setpriv', [...asQemu, 'ssh-agent', '-D', '-a', agentSock], { stdio: 'ignore' }));
    await eventually(() => existsSync(agentSock), 'the ssh-agent socket');
    sh('setpriv', [...asQemu, 'ssh-add', '-q', `${dir.path}/userkey`], { SSH_AUTH_SOCK: agentSock });
    await eventually(() => existsSync(`${dir.path}/sshd.pid`), 'sshd listening');
    chmodSync(dir.path, 0o755);
    await host.start();
  });

  after(async () => {
    await host.ferry('destroy', 'sshdisk');
    await host.stopAll();
    for (const c of children) c.kill();
    dir.cleanup();
  });

  it('reads and writes the image over ssh, checking the host key of <knownHosts> and logging in through the agent', async () => {
    await define(`${dir.path}/known_hosts`);
    await host.ok('start', 'sshdisk');
    const nodes = await qmp<Array<{ 'node-name': string; drv: string }>>('query-named-block-nodes');
    assert.ok(
      nodes.some((n) => n['node-name'] === 'file-vdb' && n.drv === 'ssh'),
      JSON.stringify(nodes.map((n) => `${n['node-name']} ${n.drv}`)),
    );
    // qemu-io on the disk's own BlockBackend (-d: by device id): what it prints goes to QEMU's stdout, the domain log.
    const log = (): string => readFileSync(`${host.stateDir}/log/sshdisk.log`, 'utf8');
    const blocks = await qmp<Array<{ qdev?: string; inserted?: { 'node-name'?: string } }>>('query-block');
    const qdev = blocks.find((b) => b.inserted?.['node-name'] === 'fmt-vdb')?.qdev;
    assert.ok(qdev, JSON.stringify(blocks));
    await hmp(`qemu-io -d ${qdev} "read -P 0xab 0 65536"`);
    await eventually(() => /read 65536\/65536 bytes at offset 0/.test(log()), 'qemu-io reads the image, every byte 0xab');
    assert.doesNotMatch(log(), /Pattern verification failed/);
    await hmp(`qemu-io -d ${qdev} "write -P 0xcd 4096 4096"`);
    await eventually(() => /wrote 4096\/4096 bytes at offset 4096/.test(log()), 'qemu-io writes through the disk');
    await hmp(`qemu-io -d ${qdev} "flush"`);
    await hmp('qemu-io fmt-vdb "flush"');
    const fd = openSync(image, 'r');
    const buf = Buffer.alloc(4096);
    readSync(fd, buf, 0, 4096, 4096);
    closeSync(fd);
    assert.ok(
      buf.every((b) => b === 0xcd),
      'the write reached the image on the ssh server',
    );
    await host.ok('destroy', 'sshdisk');
  });

  it('fails the start on a host key other than <knownHosts> has, and refuses a file without the host', async () => {
    await define(`${dir.path}/known_hosts.wrong`);
    const wrong = await host.ferry('start', 'sshdisk');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /host key|fingerprint|hash/i);
    await define(`${dir.path}/known_hosts.none`);
    const none = await host.ferry('start', 'sshdisk');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, new RegExp(`No key for '\\[127\\.0\\.0\\.1\\]:${port}' in known hosts file`));
  });
});
