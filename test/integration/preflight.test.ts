import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { createBridge, deleteLink, NetnsPeer } from '../helpers/netns.js';
import { eventually } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/two-hosts.js';
import { row } from '../helpers/preflight-table.js';

/**
 * Each pre-flight check made to fail for real, with its message and hint,
 * and a run where everything passes. Host B is a network namespace of its
 * own (its own bridges), with names in a real DNS server (dnsmasq).
 */
describe('pre-flight checks', () => {
  const dir = tempDir('ferry-pf-');
  const ns = new NetnsPeer('ferrypf-b', '10.77.7.1', '10.77.7.2');
  const a = new FerrydHost({ dir: `${dir.path}/a` });
  let b: FerrydHost;
  let dnsmasq: ChildProcess | undefined;
  let bPeer = '';
  let bConfigBase = '';
  const shared = `${dir.path}/shared`;

  /** Restarts B with its base settings plus `extra`. */
  async function configureB(extra = ''): Promise<void> {
    writeFileSync(`${dir.path}/b.conf`, `${bConfigBase}\n${extra}\n`);
    await b.restart();
  }
  const check = async (...args: string[]): Promise<{ code: number; table: string; stderr: string }> => {
    const r = await a.ferry('migrate-check', ...args);
    return { code: r.code, table: r.stdout, stderr: r.stderr };
  };

  before(async () => {
    ns.create();
    const dnsPort = await freePort('10.77.7.1');
    dnsmasq = spawn(
      'dnsmasq',
      [
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        `--listen-address=10.77.7.1`,
        '--bind-interfaces',
        `--port=${dnsPort}`,
        '--address=/ferry-a.test/10.77.7.1',
        '--address=/ferry-b.test/10.77.7.2',
        '--pid-file',
      ],
      { stdio: 'ignore' },
    );
    const bPort = await freePort('127.0.0.1');
    bPeer = `ferry+tcp://10.77.7.2:${bPort}/system`;
    writeFileSync(`${dir.path}/a.conf`, `hostname = "ferry-a.test"\ndns_servers = [ "10.77.7.1:${dnsPort}" ]\n`);
    bConfigBase = `hostname = "ferry-b.test"\ndns_servers = [ "10.77.7.1:${dnsPort}" ]\n`;
    writeFileSync(`${dir.path}/b.conf`, bConfigBase);
    (a.options as { config?: string }).config = `${dir.path}/a.conf`;
    b = new FerrydHost({ dir: `${dir.path}/b`, netns: ns.name, listenTcp: `10.77.7.2:${bPort}`, config: `${dir.path}/b.conf` });
    await Promise.all([a.start(), b.start()]);
    mkdirSync(shared, { recursive: true });
    for (const h of [a, b]) {
      await h.ok('pool-define-as', '--name', 'shared', '--type', 'dir', '--target', shared);
      await h.ok('pool-start', 'shared');
    }
    await a.ok('vol-create-as', 'shared', 'pf.qcow2', '64M', '--format', 'qcow2');
    createBridge('fpfbr0');
    createBridge('fpfbr0', ns);
    const disk =
      "<disk type='volume' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source pool='shared' volume='pf.qcow2'/><target dev='vda' bus='virtio'/></disk>";
    const nic = "<interface type='bridge'><source bridge='fpfbr0'/><model type='virtio'/></interface>";
    writeFileSync(`${dir.path}/pf.xml`, guestXml({ name: 'pf', disks: disk, devices: nic }));
    await a.ok('define', `${dir.path}/pf.xml`);
    await a.ok('start', 'pf');
    await waitHeartbeats(() => a.serialLog('pf'), 1);
  });
  after(async () => {
    await a.ferry('destroy', 'pf');
    await b.ferry('destroy', 'pf');
    await a.stopAll();
    await b.stopAll();
    dnsmasq?.kill();
    deleteLink('fpfbr0');
    ns.destroy();
    dir.cleanup();
  });

  it('a run where everything passes', async () => {
    const r = await check('pf', bPeer);
    assert.equal(r.code, 0, r.table + r.stderr);
    for (const line of r.table
      .split('\n')
      .slice(2)
      .filter((l) => /^ \S/.test(l)))
      assert.match(line, / pass /, line);
    assert.match(row(r.table, 'Name resolution').reason, /'ferry-b.test' resolves to 10.77.7.2/);
    assert.match(row(r.table, 'Networks and bridges').reason, /bridges present: fpfbr0/);
    assert.match(row(r.table, 'Storage').reason, /vda: .*pf.qcow2/);
    const json = (JSON.parse((await a.ferry('migrate-check', 'pf', bPeer, '--json')).stdout) as { results: Array<{ id: string; outcome: string }> }).results;
    assert.ok(json.length >= 14 && json.every((c) => c.outcome === 'pass'));
  });

  it('a bridge missing on the destination', async () => {
    deleteLink('fpfbr0', ns);
    try {
      const r = await check('pf', bPeer);
      assert.equal(r.code, 1);
      assert.deepEqual(row(r.table, 'Networks and bridges'), {
        outcome: 'fail',
        reason: `interface ${/mac address='([^']+)'/.exec(await a.ok('dumpxml', 'pf'))?.[1]}: bridge 'fpfbr0' does not exist on ferry-b.test`,
      });
      assert.match(r.table, /How to fix:\n.*Networks and bridges: Create it on ferry-b.test \(ip link add fpfbr0 type bridge && ip link set fpfbr0 up\)/);
      assert.match(r.stderr, /^error: pre-flight checks failed: networks\n/);
    } finally {
      createBridge('fpfbr0', ns);
    }
  });

  it('a pool missing on the destination', async () => {
    await b.ok('pool-destroy', 'shared');
    await b.ok('pool-undefine', 'shared');
    try {
      const r = await check('pf', bPeer);
      assert.deepEqual(row(r.table, 'Storage'), { outcome: 'fail', reason: "vda: storage pool 'shared' does not exist on ferry-b.test" });
      assert.match(r.table, new RegExp(`Storage: Define and start pool 'shared' on ferry-b.test with the same target as on the source \\(${shared}\\)`));
    } finally {
      await b.ok('pool-define-as', '--name', 'shared', '--type', 'dir', '--target', shared);
      await b.ok('pool-start', 'shared');
    }
  });

  it('an older QEMU on the destination (a wrapper that reports 7.2)', async () => {
    const wrapper = `${dir.path}/qemu-7.2`;
    writeFileSync(
      wrapper,
      '#!/bin/sh\nif [ "$1" = "-version" ]; then echo "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)"; exit 0; fi\nexec qemu-system-x86_64 "$@"\n',
    );
    chmodSync(wrapper, 0o755);
    await configureB(`qemu_binary = "${wrapper}"`);
    const r = await check('pf', bPeer);
    assert.deepEqual(row(r.table, 'QEMU version'), {
      outcome: 'fail',
      reason: "the destination runs QEMU 7.2.19, older than the source's 10.0.2: migrating to an older QEMU is refused",
    });
    assert.match(r.table, /QEMU version: Upgrade QEMU on ferry-b.test to 10.0.2 or later/);
  });

  it("a clock offset (the destination's test-only clock setting)", async () => {
    await configureB('test_clock_offset_ms = 5000');
    const r = await check('pf', bPeer);
    const c = row(r.table, 'Clock');
    assert.equal(c.outcome, 'fail');
    assert.match(c.reason, /^offset \+(49\d\d|50\d\d) ms \(±\d+ ms\) against ferry-b.test, more than 500 ms$/);
    assert.match(r.table, /Clock: Sync both hosts to the same NTP or PTP servers/);
    // --unsafe lets an overridable check through, as a warning; the migration then goes ahead.
    const m = await a.ferry('migrate', '--live', '--unsafe', '--persistent', 'pf', bPeer);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stderr, /^warning: offset \+\d+ ms .* more than 500 ms \(allowed by --unsafe\)/m);
    await b.ok('migrate', '--live', '--persistent', '--undefinesource', 'pf', 'ferry+tcp://10.77.7.1:0/system'.replace(':0', `:${await startAListener()}`));
  });

  /** A's peer API, for migrating back from B (A listens on the veth address only when asked). */
  async function startAListener(): Promise<number> {
    const port = await freePort('10.77.7.1');
    (a.options as { listenTcp?: string }).listenTcp = `10.77.7.1:${port}`;
    await a.restart();
    return port;
  }

  it('an unresolvable host name', async () => {
    await configureB('hostname = "no-such-host.invalid"');
    const r = await check('pf', bPeer);
    assert.deepEqual(row(r.table, 'Name resolution'), {
      outcome: 'fail',
      reason: "the destination's name 'no-such-host.invalid' does not resolve on this host",
    });
    assert.match(r.table, /Name resolution: Add no-such-host.invalid to DNS; check with "host no-such-host.invalid"/);
  });

  it('too little memory on the destination', async () => {
    await configureB('memory_overcommit = 0.001');
    const r = await check('pf', bPeer);
    const m = row(r.table, 'Memory and vCPUs');
    assert.equal(m.outcome, 'fail');
    assert.match(m.reason, /^ferry-b.test has room for [\d.]+ MiB of guest memory \(overcommit 0.001\), the domain needs 128.00 MiB$/);
  });

  it('a busy migration port', async () => {
    const port = await freePort('127.0.0.1');
    await configureB(`migration_port_min = ${port}\nmigration_port_max = ${port}`);
    const holder = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', `require('net').createServer().listen(${port}, '0.0.0.0')`], {
      stdio: 'ignore',
    });
    try {
      await eventually(() => /LISTEN/.test(ns.exec('ss', '-ltn', `sport = :${port}`)), 'the port is taken');
      const r = await check('pf', bPeer);
      assert.deepEqual(row(r.table, 'Migration ports'), {
        outcome: 'fail',
        reason: `ferry-b.test: no free port in the migration range ${port}-${port} on 0.0.0.0`,
      });
      assert.match(r.table, /Migration ports: Free a port of the range, or widen migration_port_min/);
    } finally {
      holder.kill();
      await configureB();
    }
  });

  it('cache=writeback, and a hostdev (refused live, allowed offline)', async () => {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', `${shared}/wb.qcow2`, '16M']);
    writeFileSync(
      `${dir.path}/wb.xml`,
      guestXml({
        name: 'wb',
        disks: `<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='writeback'/><source file='${shared}/wb.qcow2'/><target dev='vda' bus='virtio'/></disk>`,
      }),
    );
    await a.ok('define', `${dir.path}/wb.xml`);
    await a.ok('start', 'wb');
    const r = await check('wb', bPeer);
    assert.deepEqual(row(r.table, 'Disk cache mode'), {
      outcome: 'fail',
      reason: 'Unsafe migration: Migration may lead to data corruption if disks use cache != none (disk vda uses cache=writeback)',
    });
    const unsafe = await check('wb', bPeer, '--unsafe');
    assert.equal(row(unsafe.table, 'Disk cache mode').outcome, 'warn');
    await a.ok('destroy', 'wb');

    writeFileSync(
      `${dir.path}/gpu.xml`,
      guestXml({
        name: 'gpu',
        devices:
          "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>",
      }),
    );
    await a.ok('define', `${dir.path}/gpu.xml`);
    const live = await check('gpu', bPeer, '--live');
    assert.deepEqual(row(live.table, 'Host devices'), {
      outcome: 'fail',
      reason: 'the domain has an assigned PCI device (passthrough or SR-IOV VF) 0000:03:00.1: it cannot be migrated live',
    });
    assert.match(live.table, /Host devices: Shut it down and migrate it offline \(--offline --persistent\)/);
    const offline = await check('gpu', bPeer, '--offline');
    assert.equal(offline.code, 0, offline.table);
    assert.match(row(offline.table, 'Host devices').reason, /allowed offline/);
  });

  it('a pinning to host CPUs and NUMA nodes the destination does not have', async () => {
    writeFileSync(
      `${dir.path}/pinned.xml`,
      guestXml({ name: 'pinned' }).replace(
        '<vcpu>1</vcpu>',
        "<vcpu>1</vcpu><cputune><vcpupin vcpu='0' cpuset='0'/><emulatorpin cpuset='4095'/></cputune><numatune><memory mode='strict' nodeset='1000'/></numatune>",
      ),
    );
    await a.ok('define', `${dir.path}/pinned.xml`);
    const r = await check('pinned', bPeer, '--offline');
    assert.equal(r.code, 1, r.table);
    const pin = row(r.table, 'CPU pinning and NUMA nodes');
    assert.equal(pin.outcome, 'fail');
    assert.match(
      pin.reason,
      /^<emulatorpin> names host CPU 4095; <numatune><memory> names host NUMA node 1000, which ferry-b\.test does not have \(CPUs 0-\d+, NUMA nodes 0\S*\)$/,
    );
    assert.match(r.table, /CPU pinning and NUMA nodes: Pin to CPUs and nodes both hosts have/);
    await a.ok('undefine', 'pinned');
  });

  it('every migrate runs the checks first: the same table, nothing moves; --unsafe never skips leases and jobs', async () => {
    deleteLink('fpfbr0', ns);
    try {
      const r = await a.ferry('migrate', '--live', 'pf', bPeer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, / Networks and bridges +fail +interface .*bridge 'fpfbr0' does not exist on ferry-b.test/);
      assert.match(r.stderr, /error: pre-flight checks failed: Networks and bridges\n/);
      assert.equal((await b.ferry('dominfo', 'pf')).code, 1, 'nothing arrived on B');
      assert.match(await a.state('pf'), /^running/);
    } finally {
      createBridge('fpfbr0', ns);
    }
    // A migration already running is a lease-and-job failure that --unsafe does not lift.
    const slow = a.ferry('migrate', '--live', '--bandwidth', '2', 'pf', bPeer);
    await eventually(async () => /Data processed/.test(await a.ok('domjobinfo', 'pf')), 'the first migration runs');
    const r = await check('pf', bPeer, '--unsafe');
    assert.deepEqual(row(r.table, 'Leases and jobs'), { outcome: 'fail', reason: 'the domain is already migrating' });
    await a.ok('domjobabort', 'pf');
    await slow;
  });
});
