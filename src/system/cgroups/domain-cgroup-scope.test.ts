import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CgroupTuning } from '../../host/cgroup-tuning.js';
import { DomainCgroup, scopePathOf } from './domain-cgroup.js';

const SCOPE = '/machine.slice/machine-qemu\\x2d42\\x2dweb.scope';

test('v1: the domain cgroup is <scope>/ferry in each hierarchy, found from /proc/PID/cgroup', () => {
  const text = `12:cpu,cpuacct:${SCOPE}/ferry/emulator\n7:blkio:${SCOPE}\n4:memory:${SCOPE}\n1:name=systemd:${SCOPE}\n`;
  const cg = DomainCgroup.inScope({ version: 1, cpu: '/sys/fs/cgroup/cpu,cpuacct', blkio: '/sys/fs/cgroup/blkio', memory: '/sys/fs/cgroup/memory' }, text);
  assert.equal(cg?.cpuDir, `/sys/fs/cgroup/cpu,cpuacct${SCOPE}/ferry`);
  assert.equal(cg?.ioDir, `/sys/fs/cgroup/blkio${SCOPE}/ferry`);
  assert.equal(cg?.memDir, `/sys/fs/cgroup/memory${SCOPE}/ferry`);
  // No scope (no systemd): undefined, and CgroupTuning keeps ferry's own directory named by pid and uuid.
  assert.equal(DomainCgroup.inScope({ version: 1, cpu: '/c' }, '1:cpu:/\n'), undefined);
  assert.equal(scopePathOf(`0::${SCOPE}/ferry/vcpu0\n`), SCOPE);
  const tuning = new CgroupTuning(
    () => ({ version: 1, cpu: '/c' }),
    () => '1:cpu:/\n',
  );
  assert.equal(tuning.cgroupOf('u-1', 42)?.cpuDir, '/c/ferry/qemu-42-u-1');
  const scoped = new CgroupTuning(
    () => ({ version: 1, cpu: '/c' }),
    () => `1:cpu:${SCOPE}\n`,
  );
  assert.equal(scoped.cgroupOf('u-1', 42)?.cpuDir, `/c${SCOPE}/ferry`);
});

test('v2: inside the scope the processes move to <scope>/ferry before the scope hands on its controllers', () => {
  // A directory standing in for the unified hierarchy (the test host's controllers are on v1): the files the kernel makes are made here.
  const root = mkdtempSync(join(tmpdir(), 'ferry-cg2-scope-'));
  try {
    const scopeDir = join(root, SCOPE);
    mkdirSync(join(scopeDir, 'ferry'), { recursive: true });
    writeFileSync(join(scopeDir, 'cgroup.controllers'), 'cpu io memory pids\n');
    writeFileSync(join(scopeDir, 'cgroup.procs'), '42\n50\n');
    writeFileSync(join(scopeDir, 'cgroup.subtree_control'), '');
    for (const f of ['cgroup.procs', 'cgroup.subtree_control']) writeFileSync(join(scopeDir, 'ferry', f), '');
    const cg = DomainCgroup.inScope({ version: 2, root }, `0::${SCOPE}\n`);
    assert.equal(cg?.cpuDir, join(scopeDir, 'ferry'));
    cg?.create(['emulator', 'vcpu0'], { cpu: true, io: true, memory: true });
    // The last of the scope's processes written into ferry/ (the kernel would take each), then the controllers enabled on the scope.
    assert.equal(readFileSync(join(scopeDir, 'ferry', 'cgroup.procs'), 'utf8'), '50');
    assert.equal(readFileSync(join(scopeDir, 'cgroup.subtree_control'), 'utf8'), '+cpu +io +memory');
    assert.equal(readFileSync(join(scopeDir, 'ferry', 'vcpu0', 'cgroup.type'), 'utf8'), 'threaded');
    assert.equal(readFileSync(join(scopeDir, 'ferry', 'cgroup.subtree_control'), 'utf8'), '+cpu');
    // Nothing is made at the hierarchy's root: no <root>/ferry beside systemd's slices.
    assert.throws(() => readFileSync(join(root, 'ferry', 'cgroup.subtree_control')), /ENOENT/);
    // A scope without a controller: CGROUP_UNAVAILABLE, naming the scope.
    writeFileSync(join(scopeDir, 'cgroup.controllers'), 'pids\n');
    assert.throws(
      () => cg?.create([], { cpu: false, io: false, memory: true }),
      (e: Error & { code?: string }) => e.code === 'CGROUP_UNAVAILABLE' && /scope .* has no 'memory'/.test(e.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
