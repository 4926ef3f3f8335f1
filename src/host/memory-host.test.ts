import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { hugetlbfsMounts, resolveMemoryPaths } from './memory-host.js';

const def = (top: string): ReturnType<typeof parseDomainXml> =>
  parseDomainXml(`<domain type='qemu'><name>m</name><memory unit='MiB'>1024</memory>${top}<vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`);
const FACTS = {
  onlineNodes: '0',
  mounts: 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n',
  meminfo: 'Hugepagesize:       2048 kB\n',
  limits: 'Max locked memory         8388608              8388608              bytes\n',
};

describe('resolveMemoryPaths()', () => {
  it('hugetlbfsMounts() reads the page size of each hugetlbfs mount', () => {
    assert.deepEqual(hugetlbfsMounts('none /mnt/h1g hugetlbfs rw,pagesize=1G 0 0\nnone /dev/hp hugetlbfs rw 0 0\nproc /proc proc rw 0 0\n', 2048), {
      1048576: '/mnt/h1g',
      2048: '/dev/hp',
    });
  });
  it('refuses a host NUMA node the host lacks, a hugepage size with no mount, and <locked/> over the memlock limit', () => {
    assert.throws(
      () => resolveMemoryPaths(def("<numatune><memory mode='strict' nodeset='0-1'/></numatune>"), '/r', FACTS),
      (e: Error & { code?: string }) => e.code === 'HOST_NUMA_NODE_MISSING' && /node 1/.test(e.message),
    );
    assert.throws(
      () => resolveMemoryPaths(def("<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages></memoryBacking>"), '/r', FACTS),
      (e: Error & { code?: string }) => e.code === 'HOST_HUGEPAGES_UNAVAILABLE' && /1048576 KiB/.test(e.message),
    );
    assert.throws(
      () => resolveMemoryPaths(def('<memoryBacking><locked/></memoryBacking>'), '/r', FACTS),
      (e: Error & { code?: string }) => e.code === 'HOST_MEMLOCK_LIMIT',
    );
    assert.equal(resolveMemoryPaths(def('<memoryBacking><hugepages/></memoryBacking>'), '/r', FACTS).hugepageMounts[2048], '/dev/hugepages');
  });
});
