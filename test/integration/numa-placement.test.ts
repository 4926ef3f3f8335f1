import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { adviseNumaPlacement } from '../../src/host/numa-placement.js';
import { readHostNumaTopology } from '../../src/host/numa-topology.js';
import { formatCpuset } from '../../src/vm/cpuset.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/** The host CPUs the kernel lets a thread run on. */
function allowed(pid: number, tid: number): string {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?';
}

/**
 * <vcpu placement='auto'> with <numatune><memory mode='strict'/> on real QEMU: ferry
 * computes the advice libvirt asks numad for from this host's /sys/devices/system/node,
 * binds guest RAM to the advised nodes (QEMU's query-memdev) and pins every QEMU
 * thread to their CPUs. ferryd runs on host CPU 0 only (taskset), so QEMU would
 * inherit CPU 0: a thread allowed on the advice's CPUs was pinned by ferry.
 * The guest is left paused: nothing here needs it to run.
 */
describe('automatic NUMA placement (placement=auto) on real QEMU', () => {
  const dir = tempDir('ferry-numad-');
  const host = new FerrydHost({ dir: `${dir.path}/a`, launcher: ['taskset', '-c', '0'] });
  const name = 'numad';
  const uuid = randomUUID();

  before(async () => {
    await host.start();
  });
  after(async () => {
    await host.ferry('destroy', name);
    await host.stopAll();
    dir.cleanup();
  });

  it('starts bound to the advised nodes and pinned to their CPUs; dumpxml keeps placement=auto, the live XML and vcpupin show the advice', async () => {
    const advice = adviseNumaPlacement(readHostNumaTopology(), 128 * 1024);
    const cpus = formatCpuset(advice.cpus);
    const nodes = formatCpuset(advice.nodes);
    assert.notEqual(cpus, '0', "the advice spans more than ferryd's CPU 0 (else pinning would not show)");
    const file = `${dir.path}/${name}.xml`;
    writeFileSync(
      file,
      guestXml({ name, uuid, type: 'qemu', memoryMiB: 128 }).replace(
        /<vcpu>\d+<\/vcpu>/,
        "<vcpu placement='auto' cpuset='1'>2</vcpu><numatune><memory mode='strict'/></numatune>",
      ),
    );
    await host.ok('define', file);
    const inactive = await host.ok('dumpxml', name);
    assert.match(inactive, /<vcpu placement='auto'>2<\/vcpu>/, 'a cpuset beside placement=auto is dropped at define, as libvirt ignores it');
    assert.match(inactive, /<memory mode='strict' placement='auto'\/>/);

    await host.ok('start', '--paused', name);
    const [pid] = qemuPidsOf(host.stateDir, uuid);
    assert.ok(pid, 'QEMU runs');
    assert.equal(allowed(host.pid as number, host.pid as number), '0', 'ferryd itself runs on CPU 0 only');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(
      argv.some((a) => /(^|,)memory-backend=pc\.ram(,|$)/.test(a)),
      'the machine RAM is the pc.ram backend',
    );
    assert.ok(
      argv.includes(JSON.stringify({ 'qom-type': 'memory-backend-ram', id: 'pc.ram', size: 128 * 1024 * 1024, 'host-nodes': advice.nodes, policy: 'bind' })),
    );
    const memdev = (
      JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"query-memdev"}')) as {
        return: Array<{ id: string; 'host-nodes': number[]; policy: string }>;
      }
    ).return;
    assert.deepEqual(
      memdev.map((m) => [m.id, m['host-nodes'], m.policy]),
      [['pc.ram', advice.nodes, 'bind']],
    );
    // Every thread of QEMU (vCPUs, main loop, workers) is allowed exactly the advised CPUs.
    const threads = readdirSync(`/proc/${pid}/task`).map(Number);
    assert.ok(threads.length >= 3);
    for (const tid of threads) assert.equal(allowed(pid, tid), cpus, `thread ${tid}`);

    const live = await host.ok('dumpxml', name);
    assert.match(live, new RegExp(`<vcpu placement='auto' cpuset='${cpus}'>2</vcpu>`));
    assert.match(live, new RegExp(`<memory mode='strict' placement='auto' nodeset='${nodes}'/>`));
    assert.match(await host.ok('dumpxml', '--inactive', name), /<memory mode='strict' placement='auto'\/>/);
    assert.equal(await host.ok('vcpupin', name), ` VCPU   CPU Affinity\n----------------------\n 0      ${cpus}\n 1      ${cpus}\n\n`);
    assert.match(await host.ok('emulatorpin', name), new RegExp(`\\*: ${cpus}\\n`));
    assert.equal(await host.ok('numatune', name), `numa_mode      : strict\nnuma_nodeset   : ${nodes}\n\n`);
    assert.equal(await host.ok('numatune', name, '--config'), 'numa_mode      : strict\nnuma_nodeset   : \n\n', 'the persistent definition has no advice');
  });

  it('refuses to start with NUMA_PLACEMENT_UNFIT and a hint when no set of nodes has the memory free', async () => {
    const big = 'numadbig';
    const file = `${dir.path}/${big}.xml`;
    writeFileSync(
      file,
      guestXml({ name: big, type: 'qemu' })
        .replace(/<vcpu>\d+<\/vcpu>/, "<vcpu placement='auto'>1</vcpu>")
        .replace(/<memory unit='MiB'>\d+<\/memory>/, "<memory unit='TiB'>64</memory>")
        .replace(/<currentMemory[^>]*>\d+<\/currentMemory>/, ''),
    );
    await host.ok('define', file);
    const r = await host.ferry('start', big);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /placement='auto': no set of host NUMA nodes has 67108864 MiB free for the domain \(node 0: \d+ MiB free/);
    assert.match(r.stderr, /NUMA_PLACEMENT_UNFIT/);
    assert.match(r.stderr, /pin the domain yourself/);
    assert.match(await host.state(big), /^shut off/);
    await host.ok('undefine', big);
  });
});
