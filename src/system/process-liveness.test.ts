import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { processLiveness } from './process-liveness.js';

const waitFor = async (fn: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 25));
};

describe('processLiveness()', () => {
  it('is alive for a running process and dead once the kernel has no such pid', async () => {
    const child = spawn('sleep', ['30']);
    const alive = processLiveness(child.pid as number);
    assert.equal(alive.state, 'alive');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await waitFor(() => processLiveness(child.pid as number).state === 'dead');
    assert.deepEqual(processLiveness(child.pid as number), { state: 'dead', why: 'no such process' });
  });

  it('is dead for a zombie, and for a pid whose start time is not the one recorded (a reused pid)', async () => {
    // sh execs sleep, which never reaps the short sleep it inherited: that one stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & exec sleep 30']);
    try {
      let zombie: number | undefined;
      await waitFor(() => {
        const out = execFileSync('ps', ['-o', 'pid=,stat=', '--ppid', String(parent.pid)], { encoding: 'utf8' });
        zombie = out
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .find((f) => f[1]?.startsWith('Z'))
          ?.map(Number)[0];
        return zombie !== undefined;
      });
      assert.ok(zombie, 'a zombie child appeared');
      assert.deepEqual(processLiveness(zombie), { state: 'dead', why: 'zombie' });
      const l = processLiveness(parent.pid as number);
      assert.equal(l.state, 'alive');
      assert.deepEqual(processLiveness(parent.pid as number, `${l.state === 'alive' ? l.startTime : ''}1`), { state: 'dead', why: 'pid reused' });
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('is unknown, never dead, when the caller has no descriptor left to look with (EMFILE)', () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      const module = fileURLToPath(new URL('./process-liveness.js', import.meta.url));
      // A process limited to 64 descriptors uses them all, then asks about a live QEMU-like process.
      const script = `
        const fs = require('node:fs');
        import(${JSON.stringify(module)}).then(({ processLiveness }) => {
          const held = [];
          try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
          process.stdout.write(JSON.stringify(processLiveness(${sleeper.pid})));
        });`;
      const out = execFileSync('prlimit', ['--nofile=64:64', '--', process.execPath, '-e', script], { encoding: 'utf8' });
      const l = JSON.parse(out) as { state: string; error?: string };
      assert.equal(l.state, 'unknown');
      assert.match(l.error ?? '', /EMFILE/);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
