import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, qemuPidsOf, untilPasses } from '../helpers/processes.js';
import { freePort, TwoHosts } from '../helpers/two-hosts.js';

const GUEST_MAC = '52:54:00:5c:00:01';
const GUEST_IP = '10.77.0.2';
const PEER_MAC = '52:54:00:5c:00:fe';
const PEER_IP = '10.77.0.1';

const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
const ipBytes = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));

/** An Ethernet broadcast "who has GUEST_IP" from the test's peer: what QEMU's udp netdev carries, one frame a datagram. */
function arpRequest(): Buffer {
  return Buffer.concat([
    Buffer.alloc(6, 0xff),
    macBytes(PEER_MAC),
    Buffer.from([0x08, 0x06]),
    Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]),
    macBytes(PEER_MAC),
    ipBytes(PEER_IP),
    Buffer.alloc(6),
    ipBytes(GUEST_IP),
  ]);
}

/** True for the guest's ARP reply to arpRequest(): from its MAC, saying GUEST_IP is at that MAC. */
function isGuestArpReply(frame: Buffer): boolean {
  return (
    frame.length >= 42 &&
    frame.readUInt16BE(12) === 0x0806 &&
    frame.readUInt16BE(20) === 2 &&
    frame.subarray(6, 12).equals(macBytes(GUEST_MAC)) &&
    frame.subarray(22, 28).equals(macBytes(GUEST_MAC)) &&
    frame.subarray(28, 32).equals(ipBytes(GUEST_IP))
  );
}

async function qemuCmdline(host: FerrydHost, domain: string): Promise<string[]> {
  const uuid = (await host.ok('domuuid', domain)).trim();
  const [pid] = qemuPidsOf(host.stateDir, uuid);
  assert.ok(pid, `no QEMU for ${domain}`);
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

/**
 * Socket interfaces on real QEMU (issue 11): a VM whose eth0 is a type='udp'
 * NIC whose peer is a datagram socket of this test on loopback, plus a
 * type='client' NIC connecting to a TCP server of the test. A frame crosses
 * both ways (the guest answers an ARP request sent to its <local> port), the
 * definition migrates live, B's QEMU binds and connects on its own side and the
 * guest answers again through it. A second domain's type='server' NIC listens.
 */
describe('socket interfaces (server, client, udp)', () => {
  const hosts = new TwoHosts();
  const peer = dgram.createSocket('udp4');
  const frames: Buffer[] = [];
  const accepted: net.Socket[] = [];
  const tcp = net.createServer((s) => {
    accepted.push(s);
    s.on('error', () => undefined);
  });
  const ports = { peer: 0, local: 0, tcp: 0, listen: 0 };

  before(async () => {
    peer.on('message', (m) => frames.push(m));
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    ports.peer = peer.address().port;
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    ports.tcp = (tcp.address() as net.AddressInfo).port;
    ports.local = await freePort();
    ports.listen = await freePort();
    await hosts.start();
  });

  after(async () => {
    await hosts.stop();
    peer.close();
    for (const s of accepted) s.destroy();
    tcp.close();
  });

  /** Sends ARP requests to the guest's <local> port until its reply arrives (the guest may still be booting). */
  const guestAnswers = (what: string): Promise<void> => {
    frames.length = 0;
    return eventually(
      () => {
        if (frames.some(isGuestArpReply)) return true;
        peer.send(arpRequest(), ports.local, '127.0.0.1');
        return false;
      },
      what,
      30_000,
    );
  };

  /** A type='server' NIC on B listens on its address and port (QEMU accepts a TCP connection there). */
  const serverListens = async (): Promise<void> => {
    const file = `${hosts.dir.path}/socksrv.xml`;
    writeFileSync(
      file,
      guestXml({ name: 'socksrv', devices: `<interface type='server'><source address='127.0.0.1' port='${ports.listen}'/><model type='e1000'/></interface>` }),
    );
    await hosts.b.ok('define', file);
    await hosts.b.ok('start', 'socksrv');
    assert.ok((await qemuCmdline(hosts.b, 'socksrv')).includes(`socket,id=hostnet0,listen=127.0.0.1:${ports.listen}`));
    await untilPasses(
      'a TCP connection to the server NIC',
      () =>
        new Promise<void>((resolve, reject) => {
          const c = net.connect(ports.listen, '127.0.0.1', () => {
            c.destroy();
            resolve();
          });
          c.on('error', reject);
        }),
      10_000,
    );
    await hosts.b.ok('destroy', 'socksrv');
  };

  it('carries frames over udp, connects a client, migrates live with B connecting on its own side; a server NIC listens', async () => {
    const devices = `
      <interface type='udp'><mac address='${GUEST_MAC}'/>
        <source address='127.0.0.1' port='${ports.peer}'><local address='127.0.0.1' port='${ports.local}'/></source>
        <model type='virtio'/></interface>
      <interface type='client'><mac address='52:54:00:5c:00:02'/><source address='127.0.0.1' port='${ports.tcp}'/></interface>`;
    // The server domain runs on B meanwhile (not migrated: B would have to listen on the port A's QEMU holds).
    await Promise.all([hosts.bootOnA({ name: 'socknet', devices, extraCmdline: `ferry.ip=${GUEST_IP}/24` }), serverListens()]);

    const argv = await qemuCmdline(hosts.a, 'socknet');
    assert.ok(argv.includes(`socket,id=hostnet0,udp=127.0.0.1:${ports.peer},localaddr=127.0.0.1:${ports.local}`), argv.join(' '));
    assert.ok(argv.includes(`socket,id=hostnet1,connect=127.0.0.1:${ports.tcp}`), argv.join(' '));
    await eventually(() => accepted.length === 1, "A's QEMU connects to the client NIC's peer");
    const rows = (await hosts.a.ok('domiflist', 'socknet'))
      .split('\n')
      .slice(2)
      .filter((l) => l.trim())
      .map((l) => l.trim().split(/ +/));
    assert.deepEqual(
      rows.map((r) => r.slice(0, 3)),
      [
        ['-', 'udp', '-'],
        ['-', 'client', '-'],
      ],
    );
    const stat = await hosts.a.ferry('domifstat', 'socknet', GUEST_MAC);
    assert.match(stat.stderr, /interface '52:54:00:5c:00:01' of type='udp' has no host device to count on/);
    await guestAnswers("the guest answers ARP through A's udp netdev");

    const r = await hosts.a.ferry('migrate', '--live', '--persistent', 'socknet', hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    const seq = parseHeartbeats(hosts.serial('socknet')).at(-1)?.seq ?? 0;
    await waitHeartbeats(() => hosts.b.serialLog('socknet'), 2, { afterSeq: seq });
    const xml = await hosts.b.ok('dumpxml', 'socknet');
    assert.match(
      xml,
      new RegExp(`<interface type='udp'>[\\s\\S]*?<source address='127.0.0.1' port='${ports.peer}'>\\s*<local address='127.0.0.1' port='${ports.local}'/>`),
    );
    assert.match(xml, new RegExp(`<interface type='client'>[\\s\\S]*?<source address='127.0.0.1' port='${ports.tcp}'/>`));
    // B's QEMU made its own connection; A's closed when A's QEMU ended.
    await eventually(
      () => accepted.length === 2 && accepted[0]?.closed === true && accepted[1]?.closed === false,
      "B's QEMU connects on its own and A's connection is gone",
    );
    await guestAnswers("the guest answers ARP through B's udp netdev after the migration");
    await hosts.b.ok('destroy', 'socknet');
  });
});
