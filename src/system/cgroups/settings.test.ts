import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DomainCgroup } from './domain-cgroup.js';
import { cpuBandwidth, memoryLimits, setCpuBandwidth, setCpuShares, setIoThrottle, setIoWeight, setMemoryLimits } from './settings.js';

/**
 * cgroup v2 cannot be mounted with controllers on the test host (v1 holds them), so the v2
 * file formats are checked on a directory standing in for the unified hierarchy: the files
 * the kernel would create are created here by hand. The real-kernel test is
 * test/integration/cgroup-tuning.test.ts (v1).
 */
function fakeV2(): { root: string; cg: DomainCgroup; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ferry-cg2-'));
  writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), 'memory\n');
  mkdirSync(join(root, 'ferry'));
  writeFileSync(join(root, 'ferry', 'cgroup.subtree_control'), '');
  const dir = join(root, 'ferry', 'd1');
  mkdirSync(dir);
  const files = ['cgroup.subtree_control', 'cgroup.procs', 'cpu.weight', 'io.max', 'io.weight'];
  for (const f of files) writeFileSync(join(dir, f), '');
  for (const c of ['emulator', 'vcpu0']) {
    mkdirSync(join(dir, c));
    for (const f of ['cgroup.type', 'cgroup.procs', 'cgroup.threads']) writeFileSync(join(dir, c, f), '');
    writeFileSync(join(dir, c, 'cpu.max'), 'max 100000\n');
  }
  const cg = DomainCgroup.at({ version: 2, root }, 'd1');
  return { root, cg, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('cgroup v2: controllers handed down, threaded children, cpu.weight, cpu.max, io.weight and io.max as the kernel takes them', () => {
  const { root, cg, done } = fakeV2();
  try {
    cg.create(['emulator', 'vcpu0'], { cpu: true, io: true, memory: false });
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+cpu +io', 'only what is missing is enabled');
    assert.equal(readFileSync(join(root, 'ferry', 'cgroup.subtree_control'), 'utf8'), '+cpu +io');
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'vcpu0', 'cgroup.type'), 'utf8'), 'threaded');
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'cgroup.subtree_control'), 'utf8'), '+cpu');
    cg.addProcess(42, { cpu: true, io: true, memory: false });
    assert.equal(
      readFileSync(join(root, 'ferry', 'd1', 'emulator', 'cgroup.procs'), 'utf8'),
      '42',
      'v2: one place for the process (emulator), the I/O part is its ancestor',
    );
    cg.addThread('vcpu0', 43);
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'vcpu0', 'cgroup.threads'), 'utf8'), '43');
    setCpuShares(cg, 10000);
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'cpu.weight'), 'utf8'), '10000', 'shares go to cpu.weight as written, as libvirt');
    assert.throws(() => setCpuShares(cg, 20000), /shares '20000' must be in range \[1, 10000\]/);
    setCpuBandwidth(cg, 'vcpu0', { quota: 50000 });
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'vcpu0', 'cpu.max'), 'utf8'), '50000 100000', 'the period kept');
    writeFileSync(join(root, 'ferry', 'd1', 'vcpu0', 'cpu.max'), '50000 100000\n');
    setCpuBandwidth(cg, 'vcpu0', { period: 200000, quota: -1 });
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'vcpu0', 'cpu.max'), 'utf8'), 'max 200000');
    writeFileSync(join(root, 'ferry', 'd1', 'vcpu0', 'cpu.max'), 'max 200000\n');
    assert.deepEqual(cpuBandwidth(cg, 'vcpu0'), { period: 200000, quota: -1 });
    setIoWeight(cg, 800);
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'io.weight'), 'utf8'), 'default 800');
    setIoThrottle(cg, '8:0', { readBytesSec: 1000, writeIopsSec: 20 });
    assert.equal(readFileSync(join(root, 'ferry', 'd1', 'io.max'), 'utf8'), '8:0 rbps=1000 wbps=max riops=max wiops=20');
  } finally {
    done();
  }
});

test('cgroup v2 without the io controller: CGROUP_UNAVAILABLE naming it', () => {
  const { root, cg, done } = fakeV2();
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory\n');
    assert.throws(
      () => cg.create([], { cpu: false, io: true, memory: false }),
      (e: Error & { code?: string }) => e.code === 'CGROUP_UNAVAILABLE' && /no 'io' controller/.test(e.message),
    );
  } finally {
    done();
  }
});

test("cgroup v2 <memtune>: memory.max, memory.high, memory.swap.max = swap_hard_limit - hard_limit (libvirt's vircgroupv2.c); 0 is unlimited", () => {
  const { root, cg, done } = fakeV2();
  const file = (f: string): string => readFileSync(join(root, 'ferry', 'd1', f), 'utf8');
  try {
    for (const f of ['memory.max', 'memory.high', 'memory.swap.max']) writeFileSync(join(root, 'ferry', 'd1', f), 'max\n');
    cg.create([], { cpu: false, io: false, memory: true });
    assert.equal(readFileSync(join(root, 'ferry', 'cgroup.subtree_control'), 'utf8'), '+memory');
    cg.addProcess(42, { cpu: false, io: false, memory: true });
    assert.equal(file('cgroup.procs'), '42', 'without cpu the process goes to the domain itself');
    setMemoryLimits(cg, { hardLimitKiB: 512000, softLimitKiB: 0, swapHardLimitKiB: 1024000 });
    assert.equal(file('memory.max'), String(512000 * 1024));
    assert.equal(file('memory.high'), 'max');
    assert.equal(file('memory.swap.max'), String((1024000 - 512000) * 1024));
    assert.deepEqual(memoryLimits(cg), { hardLimitKiB: 512000, softLimitKiB: undefined, swapHardLimitKiB: 1024000 });
    rmSync(join(root, 'ferry', 'd1', 'memory.swap.max'));
    assert.throws(
      () => setMemoryLimits(cg, { swapHardLimitKiB: 1024 }),
      (e: Error & { code?: string }) => e.code === 'CGROUP_UNAVAILABLE' && /memory\.swap\.max does not exist/.test(e.message),
    );
  } finally {
    done();
  }
});

test('cgroup v1 <memtune>: limit_in_bytes never above memsw.limit_in_bytes at any step (the one that grows goes first); -1 for unlimited', () => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-cgm-'));
  const dir = join(root, 'ferry', 'd1');
  const writes: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    const cg = DomainCgroup.at({ version: 1, memory: root }, 'd1');
    const set = (f: string, v: string): void => writeFileSync(join(dir, f), `${v}\n`);
    for (const f of ['memory.limit_in_bytes', 'memory.soft_limit_in_bytes', 'memory.memsw.limit_in_bytes']) set(f, '9223372036854771712');
    const write = cg.write.bind(cg);
    cg.write = (path: string, value: string): void => {
      writes.push(`${path.slice(dir.length + 1)}=${value}`);
      write(path, value);
    };
    setMemoryLimits(cg, { hardLimitKiB: 1024, softLimitKiB: 0, swapHardLimitKiB: 2048 });
    assert.deepEqual(
      writes,
      ['memory.limit_in_bytes=1048576', 'memory.memsw.limit_in_bytes=2097152', 'memory.soft_limit_in_bytes=-1'],
      'from unlimited: hard first',
    );
    writes.length = 0;
    setMemoryLimits(cg, { hardLimitKiB: 4096, swapHardLimitKiB: 8192 });
    assert.deepEqual(
      writes.slice(0, 2),
      ['memory.memsw.limit_in_bytes=8388608', 'memory.limit_in_bytes=4194304'],
      'a hard limit above the current memsw: memsw first',
    );
    writes.length = 0;
    set('memory.memsw.limit_in_bytes', '8388608');
    setMemoryLimits(cg, {});
    assert.deepEqual(writes, ['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1', 'memory.soft_limit_in_bytes=-1'], 'back to unlimited: memsw first');
    rmSync(join(dir, 'memory.memsw.limit_in_bytes'));
    assert.throws(
      () => setMemoryLimits(cg, { hardLimitKiB: 1024, swapHardLimitKiB: 2048 }),
      (e: Error & { code?: string }) =>
        e.code === 'CGROUP_UNAVAILABLE' && /memory\.memsw\.limit_in_bytes does not exist on this host \(no swap accounting\)/.test(e.message),
    );
    setMemoryLimits(cg, { hardLimitKiB: 1024 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stale domain cgroups (their QEMU gone) are removed at start; live ones and foreign names stay', async () => {
  const { removeStaleDomainCgroups } = await import('./domain-cgroup.js');
  const root = mkdtempSync(join(tmpdir(), 'ferry-cg1-'));
  try {
    for (const h of ['cpu', 'blkio']) {
      for (const d of ['qemu-111-aaaa/vcpu0', 'qemu-111-aaaa/emulator', 'qemu-222-bbbb/emulator', 'other'])
        mkdirSync(join(root, h, 'ferry', d), { recursive: true });
    }
    const removed = removeStaleDomainCgroups({ version: 1, cpu: join(root, 'cpu'), blkio: join(root, 'blkio') }, (pid) => pid === 222);
    assert.deepEqual(removed, ['qemu-111-aaaa']);
    for (const h of ['cpu', 'blkio']) {
      const { readdirSync } = await import('node:fs');
      assert.deepEqual(readdirSync(join(root, h, 'ferry')).sort(), ['other', 'qemu-222-bbbb']);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
