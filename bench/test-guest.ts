/**
 * The test guest under TCG: how long it takes to boot to its workload, and
 * what its memory oracle costs the vCPU. QEMU is started directly (no ferryd),
 * as the tests' domains are: q35, TCG, the guest's serial console on stdout.
 *
 *   node dist/bench/test-guest.js [--touch 96] [--runs 3] [--guest DIR]
 *
 * Two boots per run, each stopped after a few heartbeats:
 *   - the scrubber unthrottled (ferry.scrub=4000, nothing dirtied): the most
 *     pages per second it can verify, every word of each;
 *   - the writer unthrottled (ferry.dirty=4000): the most pages per second it
 *     can check and rewrite.
 * Prints one JSON line per boot:
 *   bootMs     from QEMU's start to ferry-load's "ready" line (host clock)
 *   fillMs     ferry-load's own time to touch and fill its memory (from the ready line)
 *   pagesPerS  pages per second, from the heartbeats' counters and the guest's clock
 *   mibPerS    the same in MiB/s; a scrub at R MiB/s costs the vCPU about R / mibPerS
 * --guest DIR boots another build (vmlinux and initrd.img in DIR), to compare.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { QEMU_BINARY, testGuest } from '../test/helpers/guest.js';

const { values } = parseArgs({
  options: {
    touch: { type: 'string', default: '96' },
    runs: { type: 'string', default: '3' },
    guest: { type: 'string' },
  },
});

interface Boot {
  bootMs: number;
  fillMs: number;
  pagesPerS: number;
}

/** written= and scrubbed= of each heartbeat, with the guest's clock (older builds' lines too). */
function counters(log: string): Array<{ t: number; written: number; scrubbed: number }> {
  return [...log.matchAll(/ferry-load: hb seq=\d+ t=([\d.]+) .*?written=(\d+) scrubbed=(\d+)/g)].map((m) => ({
    t: Number(m[1]),
    written: Number(m[2]),
    scrubbed: Number(m[3]),
  }));
}

/** Boots the guest with `cmdline`, reads its console until `beats` heartbeats, stops QEMU. */
function boot(images: { kernel: string; initrd: string }, cmdline: string, counter: 'written' | 'scrubbed', beats = 6): Promise<Boot> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const qemu = spawn(
      QEMU_BINARY,
      [
        '-machine',
        'q35',
        '-accel',
        'tcg',
        '-cpu',
        'max',
        '-m',
        String(Number(values.touch) + 160),
        '-nodefaults',
        '-display',
        'none',
        '-kernel',
        images.kernel,
        '-initrd',
        images.initrd,
        '-append',
        `console=ttyS0 quiet panic=-1 ${cmdline}`,
        '-chardev',
        'stdio,id=s0',
        '-device',
        'isa-serial,chardev=s0',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let bootMs = NaN;
    let fillMs = NaN;
    let log = '';
    let done = false;
    createInterface({ input: qemu.stdout }).on('line', (line) => {
      const ready = /ferry-load: ready .* in (\d+)ms/.exec(line);
      if (ready) {
        bootMs = Math.round(performance.now() - t0);
        fillMs = Number(ready[1]);
      }
      if (done || !line.includes('ferry-load: hb')) return;
      log += `${line}\n`;
      const hb = counters(log);
      if (hb.length < beats) return;
      done = true;
      qemu.kill('SIGTERM');
      // The first heartbeat comes right after start-up: measure from the second to the last.
      const [first, last] = [hb[1], hb.at(-1)] as [(typeof hb)[0], (typeof hb)[0]];
      resolve({ bootMs, fillMs, pagesPerS: Math.round((last[counter] - first[counter]) / (last.t - first.t)) });
    });
    qemu.once('exit', (code) => {
      if (!done) reject(new Error(`QEMU exited (${code}) before ${beats} heartbeats:\n${log}`));
    });
  });
}

async function main(): Promise<void> {
  const images = values.guest ? { kernel: `${values.guest}/vmlinux`, bzImage: `${values.guest}/vmlinuz`, initrd: `${values.guest}/initrd.img` } : testGuest();
  const touch = Number(values.touch);
  for (let run = 1; run <= Number(values.runs); run++) {
    for (const [what, cmdline, counter] of [
      ['scrub', `ferry.touch=${touch} ferry.dirty=0 ferry.scrub=4000 ferry.hb=500`, 'scrubbed'],
      ['dirty', `ferry.touch=${touch} ferry.dirty=4000 ferry.scrub=0 ferry.hb=500`, 'written'],
    ] as const) {
      const b = await boot(images, cmdline, counter);
      process.stdout.write(
        `${JSON.stringify({ run, what, touchMiB: touch, guest: values.guest ?? 'default', ...b, mibPerS: Math.round(b.pagesPerS / 256), load1: Number(loadavg()[0]?.toFixed(1)) })}\n`,
      );
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
