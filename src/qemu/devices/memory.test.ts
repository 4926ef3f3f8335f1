import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { buildQemuArgv } from '../argv.js';

const domain = (top: string, cpu: string, devices = ''): string => `<domain type='qemu'><name>m</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>${top}<vcpu>4</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os><cpu mode='maximum'>${cpu}</cpu><devices>${devices}</devices></domain>`;

const PATHS = { fileDir: '/run/m', hugepageMounts: { 2048: '/dev/hugepages/ferry/u', 1048576: '/dev/hp1G/ferry/u' }, defaultHugepageKiB: 2048 };

function argvOf(xml: string): string[] {
  const def = parseDomainXml(xml);
  assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
  return buildQemuArgv({
    def,
    accel: 'tcg',
    machine: 'pc-i440fx-10.0',
    qmpSocket: '/q',
    pidfile: '/p',
    resolveDisk: () => ({ kind: 'empty' }),
    tapFds: [],
    memoryPaths: PATHS,
  });
}
const opt = (argv: string[], o: string): string[] => argv.flatMap((a, i) => (a === o ? [argv[i + 1] as string] : []));
const objects = (argv: string[]): unknown[] => opt(argv, '-object').map((s) => JSON.parse(s));

describe('memory layout argv (libvirt .args as the reference)', () => {
  it('buildQemuArgv() gives each NUMA cell a backend and a -numa node, with disjoint cpus and numatune (numatune-memnode)', () => {
    const a = argvOf(
      domain(
        `<memory unit='KiB'>24682468</memory><numatune><memory mode='strict' nodeset='0-3'/>
      <memnode cellid='0' mode='preferred' nodeset='3'/><memnode cellid='2' mode='strict' nodeset='0,2'/></numatune>`,
        `<numa><cell id='0' cpus='0' memory='20002' unit='KiB'/><cell id='1' cpus='1,3' memory='660066' unit='KiB'/><cell id='2' cpus='2' memory='24002400' unit='KiB'/></numa>`,
      ),
    );
    assert.deepEqual(opt(a, '-m'), ['size=24683520k']);
    assert.deepEqual(objects(a), [
      { 'qom-type': 'memory-backend-ram', id: 'ram-node0', size: 20971520, 'host-nodes': [3], policy: 'preferred' },
      { 'qom-type': 'memory-backend-ram', id: 'ram-node1', size: 676331520, 'host-nodes': [0, 1, 2, 3], policy: 'bind' },
      { 'qom-type': 'memory-backend-ram', id: 'ram-node2', size: 24578621440, 'host-nodes': [0, 2], policy: 'bind' },
    ]);
    assert.deepEqual(opt(a, '-numa'), [
      'node,nodeid=0,cpus=0,memdev=ram-node0',
      'node,nodeid=1,cpus=1,cpus=3,memdev=ram-node1',
      'node,nodeid=2,cpus=2,memdev=ram-node2',
    ]);
  });

  it('buildQemuArgv() backs RAM without NUMA cells with pc.ram (memorybacking-set, hugepages-default-2M)', () => {
    const shared = argvOf(
      domain(
        `<memory unit='KiB'>1048576</memory><memoryBacking><source type='file'/><access mode='shared'/><allocation mode='immediate'/></memoryBacking>`,
        '',
      ),
    );
    assert.match(opt(shared, '-machine')[0] as string, /,memory-backend=pc\.ram/);
    assert.deepEqual(objects(shared), [
      {
        'qom-type': 'memory-backend-file',
        id: 'pc.ram',
        'mem-path': '/run/m/pc.ram',
        share: true,
        'x-use-canonical-path-for-ramblock-id': false,
        prealloc: true,
        size: 1073741824,
      },
    ]);
    const huge = argvOf(
      domain(
        `<memory unit='KiB'>1048576</memory><memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages><nosharepages/><locked/></memoryBacking>`,
        '',
      ),
    );
    assert.deepEqual(objects(huge), [
      {
        'qom-type': 'memory-backend-file',
        id: 'pc.ram',
        'mem-path': '/dev/hugepages/ferry/u',
        'x-use-canonical-path-for-ramblock-id': false,
        prealloc: true,
        size: 1073741824,
      },
    ]);
    assert.match(opt(huge, '-machine')[0] as string, /,mem-merge=off,memory-backend=pc\.ram/);
    assert.deepEqual(opt(huge, '-overcommit'), ['mem-lock=on']);
  });

  it("buildQemuArgv() picks each cell's hugepage size by nodeset and memfd with hugetlb (hugepages-numa-nodeset, memfd-memory-numa)", () => {
    const a = argvOf(
      domain(
        `<memory unit='KiB'>2097152</memory><memoryBacking><hugepages><page size='1' unit='GiB' nodeset='0'/><page size='2048' unit='KiB' nodeset='1'/></hugepages></memoryBacking>`,
        `<numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/><cell id='1' cpus='2-3' memory='1048576' unit='KiB' memAccess='shared'/></numa>`,
      ),
    );
    assert.deepEqual(objects(a), [
      { 'qom-type': 'memory-backend-file', id: 'ram-node0', 'mem-path': '/dev/hp1G/ferry/u', prealloc: true, size: 1073741824 },
      { 'qom-type': 'memory-backend-file', id: 'ram-node1', 'mem-path': '/dev/hugepages/ferry/u', share: true, prealloc: true, size: 1073741824 },
    ]);
    const m = argvOf(
      domain(
        `<memory unit='KiB'>1048576</memory><memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages><source type='memfd'/><access mode='shared'/><allocation mode='immediate' threads='8'/></memoryBacking>`,
        `<numa><cell id='0' cpus='0-3' memory='1048576' unit='KiB'/></numa>`,
      ),
    );
    assert.deepEqual(objects(m), [
      {
        'qom-type': 'memory-backend-memfd',
        id: 'ram-node0',
        hugetlb: true,
        hugetlbsize: 2097152,
        share: true,
        prealloc: true,
        'prealloc-threads': 8,
        size: 1073741824,
      },
    ]);
  });

  it('buildQemuArgv() plugs dimm, nvdimm and virtio-mem as libvirt does (memory-hotplug-*)', () => {
    const a = argvOf(
      domain(
        `<maxMemory slots='16' unit='KiB'>1099511627776</maxMemory><memory unit='KiB'>1791488</memory>`,
        `<numa><cell id='0' cpus='0-3' memory='219136' unit='KiB'/></numa>`,
        `<memory model='dimm'><target><size unit='KiB'>523264</size><node>0</node></target><address type='dimm' slot='0' base='0x100000000'/></memory>
       <memory model='nvdimm'><source><path>/tmp/nvdimm</path></source><target><size unit='KiB'>524288</size><node>0</node><label><size unit='KiB'>128</size></label><readonly/></target><address type='dimm' slot='1'/></memory>
       <memory model='virtio-mem'><target><size unit='KiB'>1048576</size><node>0</node><block unit='KiB'>2048</block><requested unit='KiB'>524288</requested></target></memory>`,
      ),
    );
    assert.deepEqual(opt(a, '-m'), ['size=219136k,slots=16,maxmem=1099511627776k']);
    assert.match(opt(a, '-machine')[0] as string, /,nvdimm=on/);
    const dev = opt(a, '-device');
    assert.ok(dev.includes('pc-dimm,node=0,memdev=memdimm0,id=dimm0,slot=0,addr=4294967296'), dev.join('\n'));
    assert.ok(dev.includes('nvdimm,node=0,label-size=131072,unarmed=true,memdev=memnvdimm1,id=nvdimm1,slot=1'), dev.join('\n'));
    assert.ok(
      dev.some((d) => /^virtio-mem-pci,node=0,block-size=2097152,requested-size=536870912,memdev=memvirtiomem2,id=virtiomem2,bus=pci\.0,addr=0x/.test(d)),
      dev.join('\n'),
    );
    assert.deepEqual(objects(a).slice(1), [
      { 'qom-type': 'memory-backend-ram', id: 'memdimm0', size: 536870912 },
      { 'qom-type': 'memory-backend-file', id: 'memnvdimm1', 'mem-path': '/tmp/nvdimm', share: false, prealloc: true, size: 536870912 },
      { 'qom-type': 'memory-backend-ram', id: 'memvirtiomem2', size: 1073741824, reserve: false },
    ]);
  });

  it('binds the RAM of a guest without NUMA cells to <numatune><memory nodeset> (numatune-system-memory: pc.ram)', () => {
    const a = argvOf(domain(`<memory unit='KiB'>219136</memory><numatune><memory mode='strict' nodeset='0'/></numatune>`, ''));
    assert.ok(opt(a, '-machine')[0]?.includes('memory-backend=pc.ram'));
    assert.deepEqual(objects(a), [{ 'qom-type': 'memory-backend-ram', id: 'pc.ram', size: 224395264, 'host-nodes': [0], policy: 'bind' }]);
  });

  it('parseDomainXml() refuses what ferry cannot apply: a static <memory> without nodeset, memnode with placement auto, restrictive mode, HMAT caches', () => {
    assert.throws(
      () => parseDomainXml(domain(`<memory unit='KiB'>1048576</memory><numatune><memory mode='strict'/></numatune>`, '')),
      /nodeset for NUMA memory tuning must be set/,
    );
    assert.throws(
      () =>
        parseDomainXml(
          domain(
            `<memory unit='KiB'>1048576</memory><numatune><memory mode='strict' placement='auto'/><memnode cellid='0' nodeset='0'/></numatune>`,
            `<numa><cell id='0' cpus='0-3' memory='1048576' unit='KiB'/></numa>`,
          ),
        ),
      /Per-node binding is not compatible with automatic NUMA placement/,
    );
    assert.throws(
      () => parseDomainXml(domain(`<memory unit='KiB'>1048576</memory><numatune><memory mode='restrictive' nodeset='0'/></numatune>`, '')),
      /restrictive/,
    );
    assert.throws(
      () =>
        parseDomainXml(
          domain(
            `<memory unit='KiB'>1048576</memory>`,
            `<numa><cell id='0' cpus='0-3' memory='1048576' unit='KiB'><cache level='1' associativity='direct' policy='writeback'/></cell></numa>`,
          ),
        ),
      /cache/,
    );
  });
});
