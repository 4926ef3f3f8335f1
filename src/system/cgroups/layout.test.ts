import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectCgroupLayout } from './layout.js';

const V1 = `tmpfs /sys/fs/cgroup tmpfs rw 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;

test('cgroup v1 beside a controller-less cgroup2 (systemd tracking) is v1, each controller where it is mounted', () => {
  assert.deepEqual(
    detectCgroupLayout(V1, () => ''),
    { version: 1, cpu: '/sys/fs/cgroup/cpu', blkio: '/sys/fs/cgroup/blkio' },
  );
});

test('a hybrid host whose cgroup2 holds only hugetlb keeps cpu and blkio on v1', () => {
  assert.deepEqual(
    detectCgroupLayout(V1, () => 'hugetlb\n'),
    { version: 1, cpu: '/sys/fs/cgroup/cpu', blkio: '/sys/fs/cgroup/blkio' },
  );
});

test('co-mounted cpu,cpuacct is found by its option', () => {
  const text = 'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n';
  assert.deepEqual(
    detectCgroupLayout(text, () => ''),
    { version: 1, cpu: '/sys/fs/cgroup/cpu,cpuacct' },
  );
});

test('a cgroup2 mount with controllers is the unified layout', () => {
  const text = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n';
  assert.deepEqual(
    detectCgroupLayout(text, () => 'cpuset cpu io memory pids\n'),
    { version: 2, root: '/sys/fs/cgroup' },
  );
});

test('a v1 memory hierarchy is found (for <memtune>), alone too', () => {
  const text = `${V1}cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n`;
  assert.deepEqual(
    detectCgroupLayout(text, () => 'hugetlb\n'),
    { version: 1, cpu: '/sys/fs/cgroup/cpu', blkio: '/sys/fs/cgroup/blkio', memory: '/sys/fs/cgroup/memory' },
  );
  assert.deepEqual(
    detectCgroupLayout('cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /u cgroup2 rw 0 0\n', () => 'cpu io\n'),
    { version: 1, memory: '/sys/fs/cgroup/memory' },
  );
});

test('no cgroup mounts: no layout', () => {
  assert.equal(
    detectCgroupLayout('proc /proc proc rw 0 0\n', () => ''),
    undefined,
  );
});
