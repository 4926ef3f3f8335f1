import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { createBridge, deleteLink } from '../helpers/netns.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';
import { ifbName } from '../../src/network/bandwidth.js';
import { Ethtool } from '../../src/system/ethtool.js';

const sh = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The command line of the QEMU that `host` runs for `domain`. */
async function qemuArgv(host: FerrydHost, domain: string): Promise<string[]> {
  const uuid = (await host.ok('domuuid', domain)).trim();
  const [pid] = qemuPidsOf(host.stateDir, uuid);
  assert.ok(pid, `no QEMU for ${domain}`);
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

/** The taps (by interface name) a QEMU holds open, from /proc/PID/fdinfo's "iff:" lines. */
async function tapsHeld(host: FerrydHost, domain: string): Promise<string[]> {
  const uuid = (await host.ok('domuuid', domain)).trim();
  const [pid] = qemuPidsOf(host.stateDir, uuid);
  return readdirSync(`/proc/${pid}/fdinfo`).flatMap((fd) => /^iff:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? []);
}

/** domiflist's rows: [Interface, Type, Source, Model, MAC]. */
async function iflist(host: FerrydHost, domain: string): Promise<string[][]> {
  return (await host.ok('domiflist', domain))
    .split('\n')
    .slice(2)
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/ +/));
}

/**
 * Part 7 of issue 11 on real QEMU: one VM carries a default-model NIC with
 * <bandwidth> (its <outbound> peak shaped on an IFB device), and a
 * multiqueue virtio NIC with an MTU and <coalesce> that starts with its
 * link down and is the guest's eth0 (pinged from a namespace of the test's
 * own); it migrates live and B has all of it. A second VM (not migrated)
 * has type='ethernet' NICs on a tap made beforehand and on one ferry makes
 * and sets up with a <script>, and a type='direct' macvtap on a veth.
 */
describe('interfaces (issue 11, part 7)', () => {
  const hosts = new TwoHosts();
  const p = `fi${randomBytes(3).toString('hex')}`;
  const bridge = `${p}br`;
  const ns = `${p}ns`;
  const [vethBr, vethNs] = [`${p}vb`, `${p}vn`];
  const [parentRoot, parentNs] = [`${p}pr`, `${p}pn`];
  const premade = `${p}tap`;
  const guestIp = '10.213.7.2';
  const nsIp = '10.213.7.1';
  const macVirtio = '52:54:00:7e:00:02';

  const ping = (): boolean => {
    try {
      sh('ip', 'netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', '1', guestIp);
      return true;
    } catch {
      return false;
    }
  };

  before(async () => {
    createBridge(bridge);
    // The test's own namespace on the bridge (a veth), and a veth whose root end is the macvtap parent.
    sh('ip', 'netns', 'add', ns);
    sh('ip', 'link', 'add', vethBr, 'type', 'veth', 'peer', 'name', vethNs);
    sh('ip', 'link', 'set', vethNs, 'netns', ns);
    sh('ip', 'link', 'set', vethBr, 'master', bridge);
    sh('ip', 'link', 'set', vethBr, 'up');
    sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/24`, 'dev', vethNs);
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', vethNs, 'up');
    sh('ip', 'link', 'add', parentRoot, 'type', 'veth', 'peer', 'name', parentNs);
    sh('ip', 'link', 'set', parentNs, 'netns', ns);
    sh('ip', 'link', 'set', parentRoot, 'up');
    sh('ip', 'tuntap', 'add', 'dev', premade, 'mode', 'tap');
    await hosts.start();
  });

  after(async () => {
    await hosts.stop();
    for (const l of [vethBr, parentRoot, premade, bridge]) deleteLink(l);
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      // absent
    }
  });

  it('runs the NICs as defined, and a live migration keeps link state, queues and bandwidth', async () => {
    await hosts.bootOnA({
      name: 'nics',
      memoryMiB: 160,
      extraCmdline: `ferry.ip=${guestIp}/24`,
      devices: `
        <interface type='bridge'><source bridge='${bridge}'/><mac address='52:54:00:7e:00:01'/>
          <bandwidth><inbound average='1000' peak='2000' burst='256'/><outbound average='128' peak='256' burst='32768'/></bandwidth>
          <tune><sndbuf>1600</sndbuf></tune><port isolated='yes'/></interface>
        <interface type='bridge'><source bridge='${bridge}'/><mac address='${macVirtio}'/><model type='virtio'/>
          <driver name='qemu' queues='2'/><mtu size='1400'/><link state='down'/><coalesce><rx><frames max='7'/></rx></coalesce></interface>`,
    });
    const rows = await iflist(hosts.a, 'nics');
    assert.deepEqual(
      rows.map((r) => r.slice(1)),
      [
        ['bridge', bridge, 'rtl8139', '52:54:00:7e:00:01'],
        ['bridge', bridge, 'virtio', macVirtio],
      ],
    );
    const [rtlTap, virtioTap] = rows.map((r) => r[0] as string);

    const checkHost = async (host: FerrydHost, where: string): Promise<void> => {
      const argv = (await qemuArgv(host, 'nics')).join(' ');
      assert.match(argv, /-device rtl8139,netdev=hostnet0,id=net0,mac=52:54:00:7e:00:01/, `${where}: the NIC without <model> is libvirt's default, rtl8139`);
      assert.match(argv, /-netdev tap,id=hostnet1,fds=\d+:\d+ /, `${where}: two descriptors for two queues`);
      assert.match(argv, /-netdev tap,id=hostnet0,fd=\d+,sndbuf=1600 /, `${where}: <tune><sndbuf>`);
      assert.match(argv, /-device virtio-net-pci,mq=on,vectors=6,host_mtu=1400,netdev=hostnet1/, where);
      const [tap0, tap1] = (await iflist(host, 'nics')).map((r) => r[0] as string);
      // Both queues are attached; a guest with one vCPU enables one, and QEMU detaches the other (numdisabled).
      const mq = /multi_queue numqueues (\d+) numdisabled (\d+)/.exec(sh('ip', '-d', 'link', 'show', tap1 as string));
      assert.equal(Number(mq?.[1]) + Number(mq?.[2]), 2, `${where}: the tap is multiqueue with two queues attached`);
      assert.equal(readFileSync(`/sys/class/net/${tap1}/mtu`, 'utf8').trim(), '1400');
      assert.equal(basename(readlinkSync(`/sys/class/net/${tap0}/master`)), bridge);
      assert.match(
        sh('ip', '-d', 'link', 'show', tap0 as string),
        /bridge_slave .*isolated on/,
        `${where}: <port isolated='yes'>: the tap's bridge port is isolated`,
      );
      assert.doesNotMatch(sh('ip', '-d', 'link', 'show', tap1 as string), /isolated on/, `${where}: the other NIC's port is not`);
      assert.match(sh('tc', 'qdisc', 'show', 'dev', tap0 as string), /qdisc htb 1: root/, `${where}: <inbound> shapes the tap's egress`);
      assert.match(sh('tc', 'class', 'show', 'dev', tap0 as string), /class htb 1:1 root .*rate 8Mbit ceil 16Mbit burst 256Kb/, where);
      // <outbound> with a peak: the tap's ingress is redirected to an IFB device, shaped there by htb (rate average, ceil peak).
      const ifb = ifbName(tap0 as string);
      const redirect = JSON.parse(sh('tc', '-j', 'filter', 'show', 'dev', tap0 as string, 'parent', 'ffff:')) as Array<{
        options?: { actions?: Array<{ kind: string; mirred_action?: string; to_dev?: string }> };
      }>;
      assert.deepEqual(
        redirect.flatMap((f) => f.options?.actions ?? []).map((a) => [a.kind, a.mirred_action, a.to_dev]),
        [['mirred', 'redirect', ifb]],
        `${where}: the tap's ingress goes to ${ifb}`,
      );
      assert.match(sh('tc', 'qdisc', 'show', 'dev', ifb), /qdisc htb 1: root/, `${where}: ${ifb} has an htb root`);
      assert.match(
        sh('tc', 'class', 'show', 'dev', ifb),
        /class htb 1:1 root .*rate 1024Kbit ceil 2048Kbit burst 32Mb/,
        `${where}: ${ifb} shapes at <outbound>'s average, peak and burst`,
      );
      // <coalesce>: the tap's rx-frames, read back with the ethtool ioctl.
      assert.equal(new Ethtool().rxFrames(tap1 as string), 7, `${where}: the virtio NIC's tap batches 7 frames`);
      const dumpxml = await host.ok('dumpxml', 'nics');
      assert.match(dumpxml, /<model type='rtl8139'\/>/);
      assert.match(dumpxml, /<driver name='qemu' queues='2'\/>/);
      assert.match(dumpxml, /<tune>\n +<sndbuf>1600<\/sndbuf>\n +<\/tune>\n +<port isolated='yes'\/>/);
      assert.match(dumpxml, /<bandwidth>\n +<inbound average='1000' peak='2000' burst='256'\/>\n +<outbound average='128' peak='256' burst='32768'\/>/);
      assert.match(dumpxml, /<coalesce>\n +<rx>\n +<frames max='7'\/>/);
    };
    await checkHost(hosts.a, 'A');

    // The link starts down: domif-getlink says so and the guest does not answer; up, and it does.
    assert.equal(await hosts.a.ok('domif-getlink', 'nics', virtioTap as string), `${virtioTap} down\n`);
    assert.match(await hosts.a.ok('dumpxml', 'nics'), /<link state='down'\/>/);
    assert.equal(ping(), false, 'no reply through a NIC whose link is down');
    assert.equal(await hosts.a.ok('domif-setlink', 'nics', macVirtio, 'up'), 'Device updated successfully\n\n');
    await eventually(ping, 'the guest answers once its link is up', 30_000);
    assert.equal(await hosts.a.ok('domif-getlink', 'nics', virtioTap as string), `${virtioTap} up\n`);
    assert.match(await hosts.a.ok('domif-getlink', '--config', 'nics', macVirtio), / down\n$/, 'the persistent definition still says down');

    // domifstat counts from the guest's side: what the guest sent (ping replies) the tap received.
    const before = Number(readFileSync(`/sys/class/net/${virtioTap}/statistics/rx_packets`, 'utf8'));
    const stat = await hosts.a.ok('domifstat', 'nics', virtioTap as string);
    const after = Number(readFileSync(`/sys/class/net/${virtioTap}/statistics/rx_packets`, 'utf8'));
    const lines = stat.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop'].map((k) => `${virtioTap} ${k}`),
    );
    const txPackets = Number(/tx_packets (\d+)/.exec(stat)?.[1]);
    assert.ok(txPackets >= before && txPackets <= after && txPackets > 0, `guest tx_packets ${txPackets} is the tap's rx_packets (${before}..${after})`);

    // Down again, live, then migrate: B starts the NIC down, with its queues and its bandwidth.
    await hosts.a.ok('domif-setlink', 'nics', virtioTap as string, 'down');
    await eventually(() => !ping(), 'no reply once the link is down again', 30_000);
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', 'nics', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    const seq = parseHeartbeats(hosts.serial('nics')).at(-1)?.seq ?? 0;
    await waitHeartbeats(() => hosts.b.serialLog('nics'), 2, { afterSeq: seq });
    await checkHost(hosts.b, 'B');
    await eventually(
      () => !existsSync(`/sys/class/net/${rtlTap}`) && !existsSync(`/sys/class/net/${ifbName(rtlTap as string)}`),
      "A's taps and IFB device are gone",
    );
    const tapB = (await iflist(hosts.b, 'nics'))[1]?.[0] as string;
    assert.equal(await hosts.b.ok('domif-getlink', 'nics', tapB), `${tapB} down\n`);
    assert.equal(ping(), false, 'the link is still down on B');
    await hosts.b.ok('domif-setlink', 'nics', macVirtio, 'up');
    await eventually(ping, 'the guest answers on B once its link is up', 30_000);
    await hosts.b.ok('destroy', 'nics');
  });

  it('refuses to start a NIC whose <coalesce> the tap does not keep, and removes what it made', async () => {
    const tap = `${p}co`;
    const xml = `${hosts.dir.path}/coal.xml`;
    writeFileSync(
      xml,
      guestXml({
        name: 'coal',
        devices: `<interface type='bridge'><source bridge='${bridge}'/><target dev='${tap}'/><model type='virtio'/>
        <bandwidth><outbound average='128' peak='256'/></bandwidth><coalesce><rx><frames max='100'/></rx></coalesce></interface>`,
      }),
    );
    await hosts.a.ok('define', xml);
    const r = await hosts.a.ferry('start', 'coal');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`Unable to set <coalesce> rx frames 100 on ${tap}: the kernel keeps 64`));
    assert.equal(existsSync(`/sys/class/net/${tap}`), false, 'the tap is gone');
    assert.equal(existsSync(`/sys/class/net/${ifbName(tap)}`), false, 'its IFB device is gone');
    await hosts.a.ok('undefine', 'coal');
  });

  it("type='ethernet' on a tap made beforehand and on one ferry makes and runs a root-owned <script> on; type='direct' is a macvtap", async () => {
    const script = `${hosts.dir.path}/ifup.sh`;
    const ran = `${hosts.dir.path}/ifup.ran`;
    writeFileSync(script, `#!/bin/sh\necho "$1" > ${ran}\nip link set "$1" up\n`, { mode: 0o755 });
    // <backend tap>: the tap is opened through this clone device (a node of /dev/net/tun's own numbers) instead of /dev/net/tun.
    const cloneDevice = `${hosts.dir.path}/tun-clone`;
    sh('mknod', cloneDevice, 'c', '10', '200');
    const xml = `${hosts.dir.path}/eth.xml`;
    writeFileSync(
      xml,
      guestXml({
        name: 'eth',
        devices: `
        <interface type='ethernet'><target dev='${premade}' managed='no'/><model type='virtio'/></interface>
        <interface type='ethernet'><source><ip address='10.213.5.1' family='ipv4' prefix='24' peer='10.213.5.2'/><route family='ipv4' address='10.214.0.0' prefix='16' gateway='10.213.5.2'/></source><script path='${script}'/><model type='e1000'/><backend tap='${cloneDevice}'/></interface>
        <interface type='direct'><source dev='${parentRoot}' mode='bridge'/><model type='virtio'/><driver queues='2'/></interface>`,
      }),
    );
    await hosts.a.ok('define', xml);

    // A script that others could change is refused before anything is made.
    chmodSync(script, 0o777);
    const refused = await hosts.a.ferry('start', 'eth');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Refusing to run interface script '.*ifup\.sh': writable by its group or by others/);
    chmodSync(script, 0o755);

    await hosts.a.ok('start', 'eth');
    const rows = await iflist(hosts.a, 'eth');
    assert.deepEqual(
      rows.map((r) => [r[1], r[2]]),
      [
        ['ethernet', '-'],
        ['ethernet', '-'],
        ['direct', parentRoot],
      ],
    );
    const [, madeTap, macvtap] = rows.map((r) => r[0] as string);
    assert.equal(rows[0]?.[0], premade);
    assert.equal(readFileSync(ran, 'utf8').trim(), madeTap, 'the script ran with the tap ferry made');
    // <source><ip>/<route>: the host side of the routed tap (no traffic: the addresses are the test's own).
    assert.match(sh('ip', '-4', 'addr', 'show', 'dev', madeTap as string), /inet 10\.213\.5\.1 peer 10\.213\.5\.2\//);
    assert.match(sh('ip', '-4', 'route', 'show', '10.214.0.0/16'), new RegExp(`^10\\.214\\.0\\.0/16 via 10\\.213\\.5\\.2 dev ${madeTap}`));
    assert.match(
      await hosts.a.ok('dumpxml', 'eth'),
      /<source>\s*<ip address='10\.213\.5\.1' family='ipv4' prefix='24' peer='10\.213\.5\.2'\/>\s*<route family='ipv4' address='10\.214\.0\.0' prefix='16' gateway='10\.213\.5\.2'\/>/,
    );
    assert.match(sh('ip', '-d', 'link', 'show', macvtap as string), new RegExp(`${macvtap}@${parentRoot}:.*\\n.*\\n\\s+macvtap mode bridge`));
    const held = await tapsHeld(hosts.a, 'eth');
    assert.ok(held.includes(premade) && held.includes(madeTap as string), `QEMU holds both ethernet taps (holds: ${held.join(', ')})`);
    const argv = (await qemuArgv(hosts.a, 'eth')).join(' ');
    assert.match(argv, /-netdev tap,id=hostnet2,fds=\d+:\d+ -device virtio-net-pci,mq=on,vectors=6,netdev=hostnet2/, 'the macvtap, opened once per queue');

    await hosts.a.ok('destroy', 'eth');
    // ferryd removes a stopped domain's devices just after it reports the stop.
    await eventually(() => !existsSync(`/sys/class/net/${madeTap}`) && !existsSync(`/sys/class/net/${macvtap}`), 'the tap ferry made and the macvtap are gone');
    assert.equal(existsSync(`/sys/class/net/${premade}`), true, 'a tap made beforehand (managed=no) stays');
    assert.equal(sh('ip', '-4', 'route', 'show', '10.214.0.0/16').trim(), '', 'the route went with the tap');
  });

  it("opens the tap through <backend tap>, and vhost-net's device for <driver name='vhost'> (refused by name where it cannot be opened)", async () => {
    const define = async (name: string, nic: string): Promise<void> => {
      const xml = `${hosts.dir.path}/${name}.xml`;
      writeFileSync(xml, guestXml({ name, devices: `<interface type='bridge'><source bridge='${bridge}'/><model type='virtio'/>${nic}</interface>` }));
      await hosts.a.ok('define', xml);
    };
    const tapsOnBridge = (): string[] => readdirSync(`/sys/class/net/${bridge}/brif`).filter((l) => l !== vethBr);
    // A clone device that is not the tun driver's: TUNSETIFF fails, and nothing is left on the bridge.
    await define('wrongclone', "<backend tap='/dev/null'/>");
    const wrong = await hosts.a.ferry('start', 'wrongclone');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Unable to open tap device \S+ through <backend tap='\/dev\/null'>: TUNSETIFF[\s\S]*NET_TAP_FAILED/);
    // vhost-net through a path that does not exist, and through the kernel's own /dev/vhost-net.
    await define('vhostpath', `<driver name='vhost'/><backend vhost='${hosts.dir.path}/no-vhost-net'/>`);
    const missing = await hosts.a.ferry('start', 'vhostpath');
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(`Unable to open vhost-net device ${hosts.dir.path}/no-vhost-net[\\s\\S]*modprobe vhost_net[\\s\\S]*NET_VHOST_UNAVAILABLE`),
    );
    assert.deepEqual(tapsOnBridge(), [], 'a refused start leaves no tap behind');
    await define('vhost', "<driver name='vhost' queues='2'/>");
    if (existsSync('/dev/vhost-net')) {
      await hosts.a.ok('start', 'vhost');
      assert.match((await qemuArgv(hosts.a, 'vhost')).join(' '), /-netdev tap,id=hostnet0,fds=\d+:\d+,vhost=on,vhostfds=\d+:\d+ /);
      await hosts.a.ok('destroy', 'vhost');
    } else {
      // This machine's kernel has no vhost-net (no /dev/vhost-net): the start says so, by name, and how to fix it.
      const refused = await hosts.a.ferry('start', 'vhost');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Unable to open vhost-net device \/dev\/vhost-net[\s\S]*NET_VHOST_UNAVAILABLE/);
      assert.deepEqual(tapsOnBridge(), []);
    }
  });
});

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
