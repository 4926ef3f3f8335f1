import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { EtcdServer } from '../helpers/etcd.js';
import { EventStream } from '../helpers/event-stream.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { PartitionProxy } from '../helpers/partition-proxy.js';
import { eventually, pidsMatching } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/two-hosts.js';

const TTL = 3;

/**
 * A network partition that cuts only host A off from etcd (A's ferry-lockd
 * reaches etcd through a proxy that goes silent; B's talks to etcd
 * directly). A must pause its VM before its lease key can expire in etcd,
 * since from that moment B may take the lease and run the VM: the test
 * compares A's own record of the pause (its event stream) with etcd's record
 * of the key's expiry (the DELETE a watch on etcd receives) and with B's
 * start, instead of timing anything itself.
 */
describe('etcd partition of one host', () => {
  const dir = tempDir('ferry-part-');
  const etcd = new EtcdServer(`${dir.path}/etcd`);
  let proxy: PartitionProxy;
  const disk = `${dir.path}/part.qcow2`;
  const a = new FerrydHost({ dir: `${dir.path}/a`, config: `${dir.path}/a.conf` });
  // B sees its own copy of the image at the same path (a mount namespace with a bind mount), as a host with its
  // own view of the storage would: the lease (named by the path) is shared, QEMU's own image lock is not.
  const b = new FerrydHost({
    dir: `${dir.path}/b`,
    config: `${dir.path}/b.conf`,
    launcher: [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'mount --bind "$0" "$1" && shift && exec "$@"',
      `${dir.path}/part-b.qcow2`,
      disk,
    ],
  });
  let watcher: Etcd3 | undefined;

  before(async () => {
    await etcd.start();
    const etcdPort = Number(new URL(etcd.endpoint).port);
    proxy = new PartitionProxy({ host: '127.0.0.1', port: etcdPort });
    const proxyPort = await freePort();
    await proxy.listen('127.0.0.1', proxyPort);
    const conf = (endpoint: string): string => `lockd_backend = "etcd"\netcd_endpoints = [ "${endpoint}" ]\nlease_ttl = ${TTL}\n`;
    writeFileSync(`${dir.path}/a.conf`, conf(`http://127.0.0.1:${proxyPort}`));
    writeFileSync(`${dir.path}/b.conf`, conf(etcd.endpoint));
    for (const f of [disk, `${dir.path}/part-b.qcow2`]) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', f, '32M']);
    await Promise.all([a.start(), b.start()]);
    const xml = guestXml({
      name: 'part',
      uuid: crypto.randomUUID(),
      hbMs: 100,
      disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>`,
    });
    writeFileSync(`${dir.path}/part.xml`, xml);
    await a.ok('define', `${dir.path}/part.xml`);
    await b.ok('define', `${dir.path}/part.xml`);
  });
  after(async () => {
    watcher?.close();
    // A graceful stop, bounded: whatever is left after it is killed.
    const graceful = (async () => {
      await a.ferry('destroy', 'part');
      await b.ferry('destroy', 'part');
      await a.stopAll();
      await b.stopAll();
    })();
    await Promise.race([graceful, new Promise((r) => setTimeout(r, 30_000).unref())]);
    proxy?.heal();
    void proxy?.close();
    etcd.stop();
    killLeftovers(dir.path);
    dir.cleanup();
  });

  it('A pauses its VM before its lease expires in etcd; B takes the lease only after, and A cannot resume', async () => {
    await a.ok('start', 'part');
    await waitHeartbeats(() => a.serialLog('part'), 2, { timeoutMs: 90_000 });
    const uuid = (await a.ok('domuuid', 'part')).trim();
    assert.match((await b.ferry('start', 'part')).stderr, /resource busy: Lockspace resource '[^']+' is locked/, 'B is kept out while A holds the lease');

    // etcd's own record: the keys A holds now, and when etcd deletes them (their lease expired).
    watcher = new Etcd3({ hosts: etcd.endpoint });
    const heldByA = await watcher.getAll().prefix('/ferry/leases/').keys();
    assert.ok(heldByA.length > 0, 'A holds a lease key in etcd');
    const deletedAt = new Map<string, number>();
    const putAt = new Map<string, number>();
    const watch = await watcher.watch().prefix('/ferry/leases/').create();
    watch.on('delete', (kv) => {
      const key = kv.key.toString();
      if (!deletedAt.has(key)) deletedAt.set(key, Date.now());
    });
    watch.on('put', (kv) => {
      const key = kv.key.toString();
      if (!putAt.has(key)) putAt.set(key, Date.now());
    });
    const eventsA = await new EventStream(a.socket).start();
    const eventsB = await new EventStream(b.socket).start();

    proxy.partition();
    // B tries to start the VM, as an operator or an HA manager would, until it can.
    const refusals: string[] = [];
    await eventually(
      async () => {
        const r = await b.ferry('start', 'part');
        if (r.code !== 0) refusals.push(r.stderr);
        return r.code === 0;
      },
      "B can start the VM once A's lease is gone",
      30_000,
    );
    eventsA.stop();
    eventsB.stop();

    const paused = eventsA.of('domain.lifecycle', (e) => e.name === 'part' && e.state === 'paused' && e.reason === 'lock failure')[0];
    assert.ok(paused, 'A paused the VM (on_lockfailure)');
    assert.equal(eventsA.of('domain.lockfailure', (e) => e.name === 'part')[0]?.action, 'pause');
    const expired = Math.min(...heldByA.map((k) => deletedAt.get(k) ?? Infinity));
    assert.ok(Number.isFinite(expired), "etcd deleted A's key when its lease expired");
    const bKeys = [...putAt.entries()].filter(([k]) => k.includes(`${b.stateDir}:`));
    assert.equal(bKeys.length, 1, 'B took the lease: its key in etcd');
    const bTook = bKeys[0]?.[1] as number;
    const bRunning = eventsB.of('domain.lifecycle', (e) => e.name === 'part' && e.state === 'running')[0];
    assert.ok(bRunning, 'B started the VM');
    // The order that keeps the VM on one host: A paused, then A's key expired, then B took the lease and ran the VM.
    assert.ok(paused.at < expired, `A paused (${paused.at}) before etcd dropped its key (${expired})`);
    assert.ok(expired <= bTook && bTook <= bRunning.at, "B took the lease only after A's key was gone, and ran the VM after that");
    assert.ok(refusals.length > 0 && refusals.every((s) => /resource busy: Lockspace resource/.test(s)), 'until then B was refused with LOCK_HELD');
    assert.equal(await a.state('part'), 'paused (lock failure)');
    assert.equal(pidsMatching(`${a.stateDir}/run/${uuid}`).length, 1, 'A keeps its paused QEMU: it writes nothing');

    // The partition heals: A cannot resume, B holds the lease.
    proxy.heal();
    await eventually(async () => /cannot take the lease|resource busy/.test((await a.ferry('resume', 'part')).stderr), 'A is told the lease is taken', 20_000);
    assert.match((await a.ferry('resume', 'part')).stderr, /resource busy: Lockspace resource/);
    assert.equal(await a.state('part'), 'paused (lock failure)');
    await a.ok('destroy', 'part');
    await waitHeartbeats(() => b.serialLog('part'), 2, { timeoutMs: 90_000 });
  });
});
