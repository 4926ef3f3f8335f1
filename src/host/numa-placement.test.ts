import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQemuArgv } from '../qemu/argv.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import { emulatorAffinity, vcpuAffinity } from '../vm/vcpus.js';
import { numatuneParameters } from '../vm/auto-placement.js';
import { portableDefinition } from './live-definition.js';
import { adviseNumaPlacement, withNumaAdvice } from './numa-placement.js';
import type { HostNumaNode } from './numa-topology.js';

const GiB = 1 << 20;
const node = (id: number, cpus: number[], freeGiB: number, totalGiB = 16): HostNumaNode => ({
  id,
  cpus,
  memTotalKiB: totalGiB * GiB,
  memFreeKiB: freeGiB * GiB,
});
/** Four nodes: 2, 6, 6 and 3 GiB free; node 4 has CPUs and no memory. */
const HOST = [node(0, [0, 1], 2), node(1, [2, 3], 6), node(2, [4, 5], 6), node(3, [6, 7], 3), node(4, [8, 9], 0, 0)];

const domain = (top: string, cpu = ''): string => `<domain type='qemu'><name>n</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='GiB'>4</memory>${top}<os><type arch='x86_64' machine='pc'>hvm</type></os>${cpu}<devices/></domain>`;
const argv = (xml: string): string[] =>
  buildQemuArgv({
    def: withNumaAdvice(parseDomainXml(xml), HOST),
    accel: 'tcg',
    machine: 'pc-i440fx-10.0',
    qmpSocket: '/q',
    pidfile: '/p',
    resolveDisk: () => ({ kind: 'empty' }),
    tapFds: [],
  });
const objects = (a: string[]): unknown[] => a.flatMap((x, i) => (x === '-object' ? [JSON.parse(a[i + 1] as string)] : []));

describe("automatic NUMA placement (placement=auto, numad's advice computed by ferry)", () => {
  it('advises the smallest set of nodes whose free memory fits, the most free memory among those, and their CPUs', () => {
    assert.deepEqual(adviseNumaPlacement(HOST, 5 * GiB), { nodes: [1], cpus: [2, 3] }); // 1 and 2 tie: the lower id
    assert.deepEqual(adviseNumaPlacement(HOST, 7 * GiB), { nodes: [1, 2], cpus: [2, 3, 4, 5] });
    assert.deepEqual(adviseNumaPlacement(HOST, 13 * GiB), { nodes: [1, 2, 3], cpus: [2, 3, 4, 5, 6, 7] });
    assert.deepEqual(adviseNumaPlacement(HOST, 17 * GiB), { nodes: [0, 1, 2, 3], cpus: [0, 1, 2, 3, 4, 5, 6, 7] });
    assert.deepEqual(adviseNumaPlacement([node(0, [0, 1], 1)], 512 * 1024), { nodes: [0], cpus: [0, 1] });
  });

  it('refuses with NUMA_PLACEMENT_UNFIT and a hint when even every node together lacks the memory', () => {
    assert.throws(
      () => adviseNumaPlacement(HOST, 18 * GiB),
      (e: Error & { code?: string; hint?: string }) =>
        e.code === 'NUMA_PLACEMENT_UNFIT' && /18432 MiB/.test(e.message) && /node 1: 6144 MiB free/.test(e.message),
    );
    assert.throws(
      () => adviseNumaPlacement([], 1),
      (e: Error & { code?: string }) => e.code === 'NUMA_PLACEMENT_UNFIT',
    );
  });

  it('reads placement=auto as libvirt does: memory follows vCPUs, vCPUs follow memory unless pinned; memnode and a static <memory> without nodeset are refused', () => {
    const both = parseDomainXml(domain("<vcpu placement='auto'>2</vcpu>"));
    assert.equal(both.vcpuPlacement, 'auto');
    assert.deepEqual(both.memoryLayout?.numatune?.memory, { mode: 'strict', placement: 'auto' });
    const strictNoNodeset = parseDomainXml(domain("<vcpu placement='auto'>2</vcpu><numatune><memory mode='interleave'/></numatune>"));
    assert.deepEqual(strictNoNodeset.memoryLayout?.numatune?.memory, { mode: 'interleave', placement: 'auto' });
    assert.equal(parseDomainXml(domain("<vcpu>2</vcpu><numatune><memory placement='auto'/></numatune>")).vcpuPlacement, 'auto');
    // libvirt's numad-auto-memory-vcpu-no-cpuset-and-placement: even a written placement='static' follows, without a cpuset.
    assert.equal(
      parseDomainXml(domain("<vcpu placement='static'>2</vcpu><numatune><memory mode='interleave' placement='auto'/></numatune>")).vcpuPlacement,
      'auto',
    );
    const pinned = parseDomainXml(domain("<vcpu>2</vcpu><cputune><emulatorpin cpuset='1'/></cputune><numatune><memory placement='auto'/></numatune>"));
    assert.equal(pinned.vcpuPlacement, undefined);
    assert.equal(parseDomainXml(domain("<vcpu cpuset='0-1'>2</vcpu><numatune><memory placement='auto'/></numatune>")).vcpuPlacement, undefined);
    assert.throws(() => parseDomainXml(domain("<vcpu>2</vcpu><numatune><memory mode='strict'/></numatune>")), /nodeset for NUMA memory tuning must be set/);
    assert.throws(
      () =>
        parseDomainXml(
          domain(
            "<vcpu placement='auto'>2</vcpu><numatune><memnode cellid='0' nodeset='0'/></numatune>",
            "<cpu><numa><cell id='0' cpus='0-1' memory='4' unit='GiB'/></numa></cpu>",
          ),
        ),
      /Per-node binding is not compatible with automatic NUMA placement/,
    );
  });

  it('binds the RAM to the advised nodes in <numatune> mode and pins vCPUs and emulator to their CPUs, as placement=auto asks', () => {
    const a = argv(domain("<vcpu placement='auto'>2</vcpu><numatune><memory mode='interleave' placement='auto'/></numatune>"));
    assert.deepEqual(objects(a), [{ 'qom-type': 'memory-backend-ram', id: 'pc.ram', size: 4 * GiB * 1024, 'host-nodes': [1], policy: 'interleave' }]);
    const live = withNumaAdvice(parseDomainXml(domain("<vcpu placement='auto'>2</vcpu>")), HOST);
    assert.deepEqual(live.numaAdvice, { nodeset: '1', cpuset: '2-3' });
    assert.equal(vcpuAffinity(live, 1), '2-3');
    assert.equal(emulatorAffinity(live), '2-3');
    // Static memory, vCPUs auto: only the CPUs are advised; static vCPUs, memory auto: only the nodes.
    const cpusOnly = withNumaAdvice(parseDomainXml(domain("<vcpu placement='auto'>2</vcpu><numatune><memory mode='strict' nodeset='3'/></numatune>")), HOST);
    assert.deepEqual(cpusOnly.numaAdvice, { cpuset: '2-3' });
    assert.deepEqual(
      objects(
        buildQemuArgv({
          def: cpusOnly,
          accel: 'tcg',
          machine: 'pc-i440fx-10.0',
          qmpSocket: '/q',
          pidfile: '/p',
          resolveDisk: () => ({ kind: 'empty' }),
          tapFds: [],
        }),
      )[0],
      { 'qom-type': 'memory-backend-ram', id: 'pc.ram', size: 4 * GiB * 1024, 'host-nodes': [3], policy: 'bind' },
    );
    const nodesOnly = withNumaAdvice(parseDomainXml(domain("<vcpu cpuset='0'>2</vcpu><numatune><memory placement='auto'/></numatune>")), HOST);
    assert.deepEqual(nodesOnly.numaAdvice, { nodeset: '1' });
    assert.equal(vcpuAffinity(nodesOnly, 0), '0');
    // Per guest cell: every cell's backend goes to the advice.
    const cells = argv(
      domain(
        "<vcpu placement='auto'>2</vcpu>",
        "<cpu><numa><cell id='0' cpus='0' memory='2' unit='GiB'/><cell id='1' cpus='1' memory='2' unit='GiB'/></numa></cpu>",
      ),
    );
    assert.deepEqual(
      objects(cells).map((o) => (o as Record<string, unknown>)['host-nodes']),
      [[1], [1]],
    );
  });

  it('dumpxml keeps placement=auto; the live XML shows the advice and reads back; a migration carries no advice', () => {
    const def = parseDomainXml(domain("<vcpu placement='auto' current='1'>2</vcpu>"));
    const inactive = renderDomainXml(def);
    assert.match(inactive, /<vcpu placement='auto' current='1'>2<\/vcpu>/);
    assert.match(inactive, /<memory mode='strict' placement='auto'\/>/);
    assert.deepEqual(parseDomainXml(inactive), def);
    const live = withNumaAdvice(def, HOST);
    const liveXml = renderLiveXml(live);
    assert.match(liveXml, /<vcpu placement='auto' cpuset='2-3' current='1'>2<\/vcpu>/);
    assert.match(liveXml, /<memory mode='strict' placement='auto' nodeset='1'\/>/);
    assert.deepEqual(parseDomainXml(liveXml), live);
    assert.deepEqual(numatuneParameters(live), { mode: 'strict', nodeset: '1' });
    assert.deepEqual(numatuneParameters(def), { mode: 'strict', nodeset: '' });
    const portable = portableDefinition(live, { serialLog: () => '', tapName: () => '', channelSocket: () => '' });
    assert.equal(portable.numaAdvice, undefined);
    assert.doesNotMatch(renderDomainXml(portable), /nodeset|cpuset/);
  });
});
