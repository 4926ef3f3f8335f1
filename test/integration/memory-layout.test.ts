import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { guestXml } from '../helpers/guest.js';
import { lastSeq, waitHeartbeats } from '../helpers/heartbeat.js';
import { TwoHosts } from '../helpers/two-hosts.js';

interface Memdev {
  id?: string;
  size: number;
  share: boolean;
  'host-nodes': number[];
  policy: string;
}
interface MemoryDevice {
  type: string;
  data: { id?: string; size: number; node: number; slot: number; memdev: string };
}

/**
 * One VM with the memory layout libvirt's NUMA test domains use: two guest NUMA cells backed by shared memfd,
 * bound to host node 0 through <numatune>, plus <maxMemory> with one DIMM. QEMU itself (query-memdev,
 * query-memory-devices) must show each part, the guest must keep running, and after a live migration the
 * destination must have built the same memory (same backends, so the RAM blocks match) and keep the guest running.
 * Hugepages: the guest's RAM comes from the reserved pool (HugePages_Free drops by its size) through a mount the
 * host has, and a size with no mount is refused at start.
 */
describe('memory layout (NUMA cells, memfd backing, numatune, DIMM hotplug, hugepages) runs and migrates live', () => {
  const hosts = new TwoHosts();
  const name = 'numavm';
  const uuid = randomUUID();
  // Hugepages on a real hugetlbfs, when this machine lets the test reserve pages (root, vm.nr_hugepages
  // writable): vm.nr_hugepages is restored and the mount removed afterwards.
  const nrPath = '/proc/sys/vm/nr_hugepages';
  let saved = '';
  let mount = '';
  let usable = false;
  const meminfo = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? -1);

  before(async () => {
    await hosts.start();
    try {
      saved = readFileSync(nrPath, 'utf8').trim();
      if (meminfo('Hugepagesize') === 2048 && !readFileSync('/proc/mounts', 'utf8').includes(' hugetlbfs ')) {
        writeFileSync(nrPath, String(Number(saved) + 80));
        usable = meminfo('HugePages_Free') >= 64;
      }
    } catch {
      usable = false;
    }
    if (usable) {
      mount = `${hosts.dir.path}/hugepages`;
      mkdirSync(mount);
      execFileSync('mount', ['-t', 'hugetlbfs', '-o', 'pagesize=2M', 'none', mount]);
    }
  });
  after(async () => {
    if (mount) {
      await hosts.a.ferry('destroy', 'hugevm');
      execFileSync('umount', [mount]);
    }
    if (saved !== '') writeFileSync(nrPath, saved);
    await hosts.stop();
  });

  const memdevs = async (h: TwoHosts['a']): Promise<Memdev[]> =>
    (JSON.parse(await h.ok('qemu-monitor-command', name, '{"execute":"query-memdev"}')) as { return: Memdev[] }).return;
  const dimms = async (h: TwoHosts['a']): Promise<MemoryDevice[]> =>
    (JSON.parse(await h.ok('qemu-monitor-command', name, '{"execute":"query-memory-devices"}')) as { return: MemoryDevice[] }).return;

  const check = async (h: TwoHosts['a']): Promise<void> => {
    const devs = (await memdevs(h)).sort((x, y) => String(x.id).localeCompare(String(y.id)));
    assert.deepEqual(
      devs.map((d) => [d.id, d.size, d.share, d['host-nodes'], d.policy]),
      [
        ['memdimm0', 64 * 1024 * 1024, true, [0], 'preferred'],
        ['ram-node0', 128 * 1024 * 1024, true, [0], 'bind'],
        ['ram-node1', 128 * 1024 * 1024, true, [0], 'preferred'],
      ],
    );
    const plugged = await dimms(h);
    assert.equal(plugged.length, 1);
    assert.equal(plugged[0]?.type, 'dimm');
    assert.equal(plugged[0]?.data.memdev, '/objects/memdimm0');
    assert.equal(plugged[0]?.data.node, 1);
    assert.equal(plugged[0]?.data.slot, 0);
    assert.equal(plugged[0]?.data.id, 'dimm0');
  };

  it('starts with two NUMA cells and a DIMM, shown by QEMU and in dumpxml, and keeps them through a live migration', async () => {
    const xml = guestXml({ name, uuid, memoryMiB: 320, vcpus: 2, type: 'qemu' })
      .replace(
        /<vcpu>2<\/vcpu>/,
        `<maxMemory slots='4' unit='MiB'>512</maxMemory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <vcpu>2</vcpu>
  <numatune><memory mode='strict' nodeset='0'/><memnode cellid='1' mode='preferred' nodeset='0'/></numatune>`,
      )
      .replace(
        '</features>',
        `</features>
  <cpu mode='maximum'><numa><cell id='0' cpus='0' memory='128' unit='MiB'/><cell id='1' cpus='1' memory='128' unit='MiB'/></numa></cpu>`,
      )
      .replace(
        '</devices>',
        `<memory model='dimm'><target><size unit='MiB'>64</size><node>1</node></target></memory>
  </devices>`,
      );
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const defined = await hosts.a.ok('dumpxml', name);
    for (const part of [
      /<maxMemory slots='4' unit='KiB'>524288<\/maxMemory>/,
      /<source type='memfd'\/>/,
      /<access mode='shared'\/>/,
      /<memnode cellid='1' mode='preferred' nodeset='0'\/>/,
      /<cell id='1' cpus='1' memory='131072' unit='KiB'\/>/,
      /<memory model='dimm'>[\s\S]*<node>1<\/node>[\s\S]*<address type='dimm' slot='0'\/>/,
    ]) {
      assert.match(defined, part);
    }
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 60_000 });
    await check(hosts.a);

    const seq = lastSeq(hosts.serial(name));
    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    await check(hosts.b);
    await waitHeartbeats(() => hosts.serial(name), 3, { afterSeq: seq, timeoutMs: 60_000 });
    assert.match(await hosts.b.ok('dumpxml', name), /<memory model='dimm'>/);
  });

  it('refuses at start a nodeset naming a host NUMA node this host does not have (define accepts it)', async () => {
    const other = 'numabad';
    const xml = guestXml({ name: other, type: 'qemu' }).replace(/<vcpu>1<\/vcpu>/, "<vcpu>1</vcpu><numatune><memory mode='strict' nodeset='63'/></numatune>");
    const file = `${hosts.dir.path}/${other}.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const r = await hosts.a.ferry('start', other);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /host NUMA node 63/);
    assert.match(r.stderr, /\/sys\/devices\/system\/node\/online/);
    await hosts.a.ok('undefine', other);
  });

  it('backs the guest with 2 MiB pages from the mount and refuses 1 GiB pages the host has no mount for', async (t) => {
    if (!usable) return t.skip('this machine does not let the test reserve 2 MiB hugepages');
    const name = 'hugevm';
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(
      file,
      guestXml({ name, memoryMiB: 128, type: 'qemu' }).replace(
        /<vcpu>1<\/vcpu>/,
        "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking><vcpu>1</vcpu>",
      ),
    );
    await hosts.a.ok('define', file);
    const free = meminfo('HugePages_Free');
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 60_000 });
    assert.equal(free - meminfo('HugePages_Free'), 64, 'the guest took its 128 MiB as 64 preallocated 2 MiB pages');
    // B is this same machine: shrink the pool so that 16 pages are left beside the guest's, fewer than its 64.
    // The pre-flight of a live migration says how many are missing.
    const nr = readFileSync(nrPath, 'utf8').trim();
    writeFileSync(nrPath, String(Number(nr) - (meminfo('HugePages_Free') - 16)));
    try {
      const check = await hosts.a.ferry('migrate-check', '--live', name, hosts.bPeer);
      assert.notEqual(check.code, 0);
      assert.match(
        check.stdout + check.stderr,
        /Huge pages .*the domain needs 64 huge pages of 2 MiB; \S+ has 16 free: 48 missing/,
        check.stdout + check.stderr,
      );
    } finally {
      writeFileSync(nrPath, nr);
    }
    await hosts.a.ok('destroy', name);
    assert.equal(meminfo('HugePages_Free'), free);

    const big = 'hugebig';
    writeFileSync(
      file,
      guestXml({ name: big, memoryMiB: 1024, type: 'qemu' }).replace(
        /<vcpu>1<\/vcpu>/,
        "<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages></memoryBacking><vcpu>1</vcpu>",
      ),
    );
    await hosts.a.ok('define', file);
    const r = await hosts.a.ferry('start', big);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no hugetlbfs is mounted for 1048576 KiB pages/);
    assert.match(r.stderr, /vm\.nr_hugepages/);
  });
});
