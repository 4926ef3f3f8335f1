import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { killMatching, pidsMatching } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const idOf = (flag: '-u' | '-g', user: string): number => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/**
 * QEMU runs unprivileged and sandboxed (issue: qemu-monitor-command was a root
 * shell): as the ferry-qemu user with only what it needs given to it, under
 * QEMU's seccomp sandbox; the monitor passthrough taints the domain and is
 * logged with its caller; ferryd's own files are for root.
 */
describe('QEMU confinement', () => {
  const dir = tempDir('ferry-confine-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const bridge = `fc${randomBytes(3).toString('hex')}`;
  const uid = idOf('-u', 'ferry-qemu');
  const gid = idOf('-g', 'ferry-qemu');
  const images = `${dir.path}/images`;
  let uuid = '';
  let pid = 0;
  const file = (name: string, text: string): string => {
    writeFileSync(`${dir.path}/${name}`, text);
    return `${dir.path}/${name}`;
  };
  const disk = (path: string): string =>
    `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${path}'/><target dev='vda' bus='virtio'/></disk>`;

  before(async () => {
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    execFileSync('ip', ['link', 'set', bridge, 'up']);
    mkdirSync(images, { mode: 0o755 });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${images}/vm.qcow2`, '32M']);
    chmodSync(`${images}/vm.qcow2`, 0o600); // root's, as qemu-img made it
    await host.start();
    uuid = crypto.randomUUID();
    const nic = `<interface type='bridge'><mac address='52:54:00:c0:ff:01'/><source bridge='${bridge}'/><model type='virtio'/></interface>`;
    await host.ok('define', file('vm.xml', guestXml({ name: 'confined', uuid, disks: disk(`${images}/vm.qcow2`), devices: nic })));
    await host.ok('start', 'confined');
    await waitHeartbeats(() => host.serialLog('confined'), 2);
    [pid] = pidsMatching(`${host.stateDir}/run/${uuid}`) as [number];
  });
  after(async () => {
    await host.ferry('destroy', 'confined');
    await host.stopAll();
    killMatching(dir.path);
    execFileSync('ip', ['link', 'del', bridge]);
    dir.cleanup();
  });

  it('QEMU runs as ferry-qemu under the seccomp sandbox, with its tap handed over as a descriptor; dominfo shows the label', async () => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\s+${gid}\\s+${gid}\\s+${gid}\\s+${gid}$`, 'm'));
    assert.match(status, /^Seccomp:\s+2$/m, 'a seccomp filter is active');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.equal(argv[argv.indexOf('-sandbox') + 1], 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
    assert.equal(argv[argv.indexOf('-netdev') + 1], 'tap,id=hostnet0,fd=3');
    assert.equal(readlinkSync(`/proc/${pid}/fd/3`), '/dev/net/tun');
    const info = await host.ok('dominfo', 'confined');
    assert.match(info, new RegExp(`Security model: +dac\\nSecurity DOI: +0\\nSecurity label: +\\+${uid}:\\+${gid} \\(enforcing\\)`));
    assert.doesNotMatch(info, /Tainted/);
  });

  it("the disk image was root's: it is now QEMU's user's (dynamic ownership), mode unchanged", () => {
    const st = statSync(`${images}/vm.qcow2`);
    assert.deepEqual([st.uid, st.gid, mode(`${images}/vm.qcow2`)], [uid, gid, '600']);
  });

  it('the monitor passthrough cannot run a command on the host; it taints the domain and is logged with its caller', async () => {
    const marker = `${dir.path}/pwned`;
    const hmp = JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': `migrate "exec:touch ${marker}"` } });
    const r = await host.ferry('qemu-monitor-command', 'confined', hmp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Failed to fork|Operation not permitted/);
    assert.equal(existsSync(marker), false, 'no command ran');
    assert.equal(await host.state('confined'), 'running (booted)', 'QEMU survived the attempt');
    const seq = (await waitHeartbeats(() => host.serialLog('confined'), 1)).at(-1)?.seq ?? 0;
    await waitHeartbeats(() => host.serialLog('confined'), 1, { afterSeq: seq });
    assert.match(await host.ok('dominfo', 'confined'), /\nTainted: +custom-monitor\n/);
    assert.match(readFileSync(`${host.stateDir}/log/confined.log`, 'utf8'), /Domain id=\d+ is tainted: custom-monitor \(by unix\)/);
    assert.match(readFileSync(host.logFile, 'utf8'), /"caller":"unix","execute":"human-monitor-command","hmp":"migrate".*QEMU monitor passthrough/);
  });

  it("ferryd's store and logs are for root; QEMU's serial log is its user's, not the world's", () => {
    for (const f of ['ferry.db', 'ferry.db-wal', 'log/confined.log']) assert.equal(mode(`${host.stateDir}/${f}`), '600', f);
    for (const d of ['', 'log', 'run']) assert.equal(mode(`${host.stateDir}/${d}`), '711', `${d || 'state'} directory`);
    const serial = `${host.stateDir}/log/confined-serial0.log`;
    assert.deepEqual([statSync(serial).uid, mode(serial)], [uid, '600']);
  });

  it("a disk QEMU's user cannot reach is refused before QEMU starts, naming the directory; nothing is left behind", async () => {
    const hidden = `${dir.path}/private`;
    mkdirSync(hidden, { mode: 0o700 });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${hidden}/vm2.qcow2`, '32M']);
    const u2 = crypto.randomUUID();
    await host.ok('define', file('vm2.xml', guestXml({ name: 'unreachable', uuid: u2, disks: disk(`${hidden}/vm2.qcow2`) })));
    const r = await host.ferry('start', 'unreachable');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `error: Cannot access storage file of disk vda '${hidden}/vm2.qcow2' \\(as uid:${uid}, gid:${gid}\\): Permission denied: QEMU's user cannot pass through the directory '${hidden}' \\(mode 700`,
      ),
    );
    assert.match(r.stderr, /\[QEMU_ACCESS_DENIED\]/);
    assert.deepEqual(pidsMatching(`${host.stateDir}/run/${u2}`), [], 'no QEMU');
    assert.equal(await host.state('unreachable'), 'shut off (unknown)');
    assert.doesNotMatch(await host.ok('lock-list'), /unreachable/, 'its leases were given back');
    assert.equal(statSync(`${hidden}/vm2.qcow2`).uid, 0, 'ferry did not change a file QEMU could not reach anyway');
  });
});
