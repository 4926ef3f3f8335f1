import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { lastSeq, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

interface QemuCpu {
  'cpu-index': number;
  'thread-id': number;
  'qom-path': string;
}

/** QEMU's own list of running vCPUs (query-cpus-fast). */
async function qemuCpus(host: FerrydHost, name: string): Promise<QemuCpu[]> {
  return (JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"query-cpus-fast"}')) as { return: QemuCpu[] }).return;
}

/** The host CPUs the kernel lets a thread run on. */
function allowed(pid: number, tid: number): string {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?';
}

async function qemuPid(host: FerrydHost, name: string): Promise<number> {
  const cpus = await qemuCpus(host, name);
  // The vCPU threads belong to QEMU's process: /proc/TID/status names its thread group.
  return Number(/^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${cpus[0]?.['thread-id']}/status`, 'utf8'))?.[1]);
}

/**
 * vCPUs on real QEMU: <vcpu current/cpuset>, <cputune> pins, setvcpus --live
 * hotplug, vcpucount/vcpuinfo/vcpupin/emulatorpin, and a hot-plugged domain
 * migrating live with its vCPUs and pins (one guest for all of it).
 */
describe('vCPUs', () => {
  const hosts = new TwoHosts();
  const name = 'cpus';

  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop();
  });

  it('starts with current of max vCPUs pinned as defined, hot-plugs one, and the domain migrates live with both and its pins', async () => {
    const vcpu = `<vcpu placement='static' current='1' cpuset='0-1'>2</vcpu><cputune><vcpupin vcpu='0' cpuset='1'/><emulatorpin cpuset='0'/></cputune>`;
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, guestXml({ name, type: 'qemu', memoryMiB: 128, touchMiB: 8 }).replace(/<vcpu>\d+<\/vcpu>/, vcpu));
    const { a, b } = hosts;
    await a.ok('define', file);
    await a.ok('start', name);
    await waitHeartbeats(() => a.serialLog(name), 2, { timeoutMs: 90_000 });

    // Booted with one of two vCPUs, each QEMU thread where <cputune> puts it.
    let cpus = await qemuCpus(a, name);
    assert.equal(cpus.length, 1);
    let pid = await qemuPid(a, name);
    assert.equal(allowed(pid, cpus[0]?.['thread-id'] as number), '1', 'vcpupin vcpu 0 → host CPU 1');
    assert.equal(allowed(pid, pid), '0', 'emulatorpin → host CPU 0');
    assert.match(await a.ok('dominfo', name), /CPU\(s\): +1\n/);
    assert.equal(
      await a.ok('vcpucount', name),
      'maximum      config         2\nmaximum      live           2\ncurrent      config         1\ncurrent      live           1\n\n',
    );

    // Hot-plug: QEMU gets the second vCPU as a device, the guest keeps running, the live definition says so.
    const r = await a.ferry('setvcpus', name, '3', '--live');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /requested vcpus is greater than max allowable vcpus for the live domain: 3 > 2/);
    await a.ok('setvcpus', name, '2', '--live');
    cpus = await qemuCpus(a, name);
    assert.deepEqual(
      cpus.map((c) => [c['cpu-index'], c['qom-path']]),
      [
        [0, '/machine/unattached/device[0]'],
        [1, '/machine/peripheral/vcpu1'],
      ],
    );
    assert.equal(allowed(pid, cpus[1]?.['thread-id'] as number), '0-1', 'the new vCPU follows <vcpu cpuset>');
    assert.match(await a.ok('dominfo', name), /CPU\(s\): +2\n/);
    assert.match(await a.ok('vcpucount', name), /current +config +1\ncurrent +live +2\n/);
    const live = await a.ok('dumpxml', name);
    assert.match(live, /<vcpu placement='static' cpuset='0-1'>2<\/vcpu>/);
    assert.match(live, /<vcpu id='1' enabled='yes' hotpluggable='yes' order='2'\/>/);
    assert.match(await a.ok('dumpxml', '--inactive', name), /<vcpu placement='static' cpuset='0-1' current='1'>2<\/vcpu>/);
    assert.match(
      await a.ok('vcpuinfo', name),
      /^VCPU: +0\nCPU: +\d+\nState: +running\nCPU time: +[\d.]+s\nCPU Affinity: +-y\n\nVCPU: +1\n[\s\S]*CPU Affinity: +yy\n\n$/,
    );

    // Pins, live: vCPU 1 onto host CPU 0; the emulator's threads onto both.
    await a.ok('vcpupin', name, '1', '0', '--live');
    assert.equal(allowed(pid, cpus[1]?.['thread-id'] as number), '0');
    assert.equal(await a.ok('vcpupin', name), ' VCPU   CPU Affinity\n----------------------\n 0      1\n 1      0\n\n');
    await a.ok('emulatorpin', name, '0-1', '--live');
    assert.equal(allowed(pid, pid), '0-1');
    assert.match(await a.ok('emulatorpin', name), /\*: 0-1\n/);
    assert.match(await a.ok('emulatorpin', name, '--config'), /\*: 0\n/, 'the persistent definition keeps its own pin');

    // Live migration: B's QEMU starts with both vCPUs (the hot-plugged one as a -device) and the same pins.
    const seq = lastSeq(a.serialLog(name));
    await a.ok('migrate', '--live', '--persistent', name, hosts.bPeer);
    assert.equal(await b.state(name), 'running (migrated)');
    cpus = await qemuCpus(b, name);
    assert.deepEqual(
      cpus.map((c) => [c['cpu-index'], c['qom-path']]),
      [
        [0, '/machine/unattached/device[0]'],
        [1, '/machine/peripheral/vcpu1'],
      ],
    );
    pid = await qemuPid(b, name);
    assert.equal(allowed(pid, cpus[0]?.['thread-id'] as number), '1');
    assert.equal(allowed(pid, cpus[1]?.['thread-id'] as number), '0');
    assert.equal(allowed(pid, pid), '0-1');
    await waitHeartbeats(() => b.serialLog(name), 3, { afterSeq: seq, timeoutMs: 90_000 });
    assert.match(await b.ok('dominfo', name), /CPU\(s\): +2\n/);
    assert.match(await b.ok('vcpucount', name), /current +config +1\ncurrent +live +2\n/);

    // Unplug on B: QEMU asks the guest to eject the vCPU (ACPI) and the guest does. On a loaded machine it may take longer
    // than setvcpus waits (then it says so); either way QEMU ends with one vCPU and the live definition follows it.
    const un = await b.ferry('setvcpus', name, '1', '--live');
    if (un.code !== 0) assert.match(un.stderr, /the guest did not release vcpu 1 within 15 s[\s\S]*VCPU_HOTPLUG_FAILED/);
    await eventually(async () => (await qemuCpus(b, name)).length === 1, 'QEMU has one vCPU again', 120_000);
    await eventually(async () => /CPU\(s\): +1\n/.test(await b.ok('dominfo', name)), 'dominfo shows one vCPU');
    assert.match(await b.ok('dumpxml', name), /<vcpu id='1' enabled='no' hotpluggable='yes'\/>/);
    const r2 = await b.ferry('setvcpus', name, '0', '--live');
    assert.match(r2.stderr, /Numeric value '0' for <count> option is malformed or out of range/);
    await waitHeartbeats(() => b.serialLog(name), 2, { afterSeq: lastSeq(b.serialLog(name)), timeoutMs: 90_000 });
    await b.ok('destroy', name);
  });

  it('refuses to start a domain pinned to host CPUs this host does not have, and --config changes the next boot', async () => {
    const xml = guestXml({ name: 'badpin', type: 'qemu' }).replace(/<vcpu>\d+<\/vcpu>/, `<vcpu cpuset='0,4095'>1</vcpu>`);
    const file = `${hosts.dir.path}/badpin.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const r = await hosts.a.ferry('start', 'badpin');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cpuset '0,4095' names host CPUs this host does not have \(4095; online: 0-\d+\)/);
    assert.match(r.stderr, /CPU_AFFINITY_FAILED/);
    assert.equal(await hosts.a.state('badpin'), 'shut off (failed)');
    await hosts.a.ok('setvcpus', 'badpin', '3', '--config', '--maximum');
    await hosts.a.ok('setvcpus', 'badpin', '2', '--config');
    assert.match(await hosts.a.ok('dumpxml', 'badpin'), /<vcpu placement='static' cpuset='0,4095' current='2'>3<\/vcpu>/);
    const bad = await hosts.a.ferry('setvcpus', 'badpin', '2', '--live');
    assert.match(bad.stderr, /domain is not running/);
    await hosts.a.ok('undefine', 'badpin');
  });
});
