import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { untilPasses } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const guestSeconds = (out: string): number => Number(/^Time: (\d+)$/m.exec(out)?.[1]);

/**
 * The guest agent through ferryd, on real QEMU with the test guest's qemu-ga: one VM with an
 * agent channel (its socket path chosen by ferryd), a slirp NIC whose address the guest sets
 * itself, and an ext4 disk for fsfreeze. It answers on A, its clock is set when it resumes,
 * it answers again on B after a live migration (with its clock set there), and the agent
 * powers it off.
 */
describe('the guest agent through ferryd', () => {
  const hosts = new TwoHosts();
  const name = 'agentvm';

  before(async () => {
    await hosts.start();
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', `${hosts.dir.path}/fs.img`, '16M']);
    await hosts
      .bootOnA({
        name,
        memoryMiB: 192,
        touchMiB: 16,
        hbMs: 200,
        extraCmdline: 'ferry.ip=10.0.2.15/24 ferry.mount=/dev/vda',
        disks: `<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='${hosts.dir.path}/fs.img'/><target dev='vda' bus='virtio'/></disk>`,
        devices: `<interface type='user'><mac address='52:54:00:a9:e1:11'/><model type='virtio'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`,
      })
      .catch((err) => {
        throw new Error(`${(err as Error).message}\nserial:\n${hosts.a.serialLog(name).slice(-3000)}`);
      });
    await untilPasses('the guest starts qemu-ga', async () => assert.match(hosts.a.serialLog(name), /ferry-guest: agent started/));
  });
  after(async () => {
    await hosts.stop();
  });

  it('answers qemu-agent-command, domifaddr --source agent, guestinfo and domfsfreeze on A, and again after ferryd restarts', async () => {
    const ping = await untilPasses('guest-ping', () => hosts.a.ok('qemu-agent-command', name, '{"execute":"guest-ping"}'));
    assert.equal(ping, '{"return":{}}\n');

    const table = await hosts.a.ok('domifaddr', name, '--source', 'agent');
    assert.match(table, /^ Name +MAC address +Protocol +Address\n-+\n/);
    assert.match(table, /^ eth0 +52:54:00:a9:e1:11 +ipv4 +10\.0\.2\.15\/24$/m);
    assert.match(table, /^ lo +00:00:00:00:00:00 +ipv4 +127\.0\.0\.1\/8$/m);
    const lease = await hosts.a.ferry('domifaddr', name);
    assert.notEqual(lease.code, 0);
    assert.match(lease.stderr, /interface addresses from source 'lease'/);

    const info = await hosts.a.ok('guestinfo', name);
    assert.match(info, /^hostname +: ferry-guest$/m);
    assert.match(info, /^os\.id +: ferry-guest$/m);
    assert.match(info, /^os\.kernel-release +: 6\.\d+/m);
    assert.match(info, /^timezone\.offset +: 0$/m);
    assert.match(info, /^user\.count +: 0$/m);

    assert.equal(await hosts.a.ok('domfsfreeze', name), 'Froze 1 filesystem(s)\n');
    const status = await hosts.a.ok('qemu-agent-command', name, '{"execute":"guest-fsfreeze-status"}');
    assert.equal(status, '{"return":"frozen"}\n');
    assert.equal(await hosts.a.ok('domfsthaw', name), 'Thawed 1 filesystem(s)\n');

    // A restarted ferryd finds the agent again (QEMU says the guest has the port open).
    await hosts.a.restart();
    assert.equal(await hosts.a.ok('qemu-agent-command', name, '{"execute":"guest-get-host-name"}'), '{"return":{"host-name":"ferry-guest"}}\n');
  });

  it("domtime reads and sets the guest clock, and resume sets it to the host's", async () => {
    await hosts.a.ok('domtime', name, '--time', '1000000000');
    const set = guestSeconds(await hosts.a.ok('domtime', name));
    assert.ok(set >= 1_000_000_000 && set < 1_500_000_000, `guest clock ${set} after --time 1000000000`);
    await hosts.a.ok('suspend', name);
    const beforeResume = Math.floor(Date.now() / 1000);
    await hosts.a.ok('resume', name);
    const after = guestSeconds(await hosts.a.ok('domtime', name));
    assert.ok(after >= beforeResume, `guest clock ${after} is the host's (${beforeResume}) after resume`);
  });

  it('answers again on B after a live migration, with its clock set there, and shutdown --mode agent powers it off', async () => {
    await hosts.a.ok('domtime', name, '--time', '1000000000');
    const beforeMigration = Math.floor(Date.now() / 1000);
    await hosts.a.ok('migrate', '--live', '--persistent', name, hosts.bPeer);
    const ping = await untilPasses('guest-ping on B', () => hosts.b.ok('qemu-agent-command', name, '{"execute":"guest-ping"}'));
    assert.equal(ping, '{"return":{}}\n');
    await untilPasses('the guest clock set on B', async () => {
      const t = guestSeconds(await hosts.b.ok('domtime', name));
      assert.ok(t >= beforeMigration, `guest clock ${t} before the host's ${beforeMigration}`);
    });
    assert.match(await hosts.b.ok('domifaddr', name, '--source', 'agent'), /^ eth0 +52:54:00:a9:e1:11 +ipv4 +10\.0\.2\.15\/24$/m);

    assert.equal(await hosts.b.ok('shutdown', name, '--mode', 'agent'), `Domain '${name}' is being shutdown\n\n`);
    await hosts.b.waitState(name, /^shut off/);
    assert.match(hosts.serial(name), /ferry-guest: shutdown poweroff/);
  });
});
