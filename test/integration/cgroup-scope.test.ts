import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DomainCgroup } from '../../src/system/cgroups/domain-cgroup.js';
import { detectCgroupLayout } from '../../src/system/cgroups/layout.js';
import { setCpuBandwidth, setCpuShares } from '../../src/system/cgroups/settings.js';

const CPU = '/sys/fs/cgroup/cpu';
const BLKIO = '/sys/fs/cgroup/blkio';
const v1 = existsSync(`${CPU}/cpu.shares`) && existsSync(`${BLKIO}/blkio.throttle.read_bps_device`);

/**
 * The domain cgroup inside a VM's machine.slice scope on this host's real cgroup v1 kernel: the scope
 * is made here by hand as systemd would (this host has no systemd), a process is put in it, and
 * ferry's cgroup code places it in <scope>/ferry/emulator and writes the limits there, never at
 * ferry/qemu-PID-UUID. (The memory hierarchy is left alone: this test's sandbox accounts memory there.)
 */
test(
  'v1 kernel: <cputune> lands (and blkio placement) in <scope>/ferry when QEMU runs in a machine scope',
  { skip: v1 ? false : 'needs cgroup v1 cpu and blkio hierarchies' },
  async () => {
    const scope = `/machine.slice/machine-qemu\\x2d${process.pid}\\x2dferrytest.scope`;
    const made: string[] = [];
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    const pid = child.pid as number;
    try {
      for (const root of [CPU, BLKIO]) {
        if (!existsSync(join(root, 'machine.slice'))) made.push(join(root, 'machine.slice'));
        mkdirSync(join(root, scope), { recursive: true });
        made.push(join(root, scope));
        writeFileSync(join(root, scope, 'cgroup.procs'), String(pid));
      }
      const layout = detectCgroupLayout();
      assert.equal(layout?.version, 1);
      const cg = DomainCgroup.inScope(layout!, readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
      assert.ok(cg, 'the scope is found in /proc/PID/cgroup');
      cg.create(['emulator'], { cpu: true, io: true, memory: false });
      cg.addProcess(pid, { cpu: true, io: true, memory: false });
      setCpuShares(cg, 512);
      setCpuBandwidth(cg, 'emulator', { period: 100000, quota: 50000 });
      const now = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      assert.match(now, new RegExp(`:cpu:${scope.replace(/\\/g, '\\\\')}/ferry/emulator\\n`));
      assert.match(now, new RegExp(`:blkio:${scope.replace(/\\/g, '\\\\')}/ferry\\n`));
      assert.equal(readFileSync(join(CPU, scope, 'ferry', 'cpu.shares'), 'utf8').trim(), '512');
      assert.equal(readFileSync(join(CPU, scope, 'ferry', 'emulator', 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
      assert.equal(existsSync(join(CPU, 'ferry', `qemu-${pid}-x`)), false);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      cg.remove();
      assert.equal(existsSync(join(CPU, scope, 'ferry')), false);
      assert.equal(existsSync(join(CPU, scope)), true, "the scope itself is systemd's: left to it");
    } finally {
      child.kill('SIGKILL');
      for (const dir of made.reverse()) {
        for (let i = 0; i < 50; i++) {
          try {
            if (existsSync(join(dir, 'ferry'))) rmdirSync(join(dir, 'ferry', 'emulator'));
          } catch {
            /* gone */
          }
          try {
            if (existsSync(join(dir, 'ferry'))) rmdirSync(join(dir, 'ferry'));
            if (existsSync(dir)) rmdirSync(dir);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    }
  },
);
