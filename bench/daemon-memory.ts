/**
 * Resident memory of an idle ferryd that supervises N running VMs.
 * Prints one JSON line. Usage: node dist/bench/daemon-memory.js [--vms 10]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FerrydHost } from '../test/helpers/ferryd.js';
import { guestXml } from '../test/helpers/guest.js';
import { tempDir } from '../test/helpers/tmp.js';

const { values } = parseArgs({ options: { vms: { type: 'string', default: '10' }, settle: { type: 'string', default: '10' } } });

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const dir = tempDir('ferry-bench-mem-');
  const host = await new FerrydHost({ dir: `${dir.path}/a` }).start();
  const n = Number(values.vms);
  try {
    const pid = host.pid as number;
    const idleEmpty = rssKiB(pid);
    for (let i = 0; i < n; i++) {
      const f = `${dir.path}/v${i}.xml`;
      writeFileSync(f, guestXml({ name: `mem${i}`, memoryMiB: 64, touchMiB: 4, hbMs: 1000 }));
      await host.ok('define', f);
      await host.ok('start', `mem${i}`);
    }
    await new Promise((r) => setTimeout(r, Number(values.settle) * 1000));
    const running = (await host.ok('list', '--name')).trim().split('\n').length;
    const idleWithVms = rssKiB(pid);
    process.stdout.write(
      `${JSON.stringify({ vms: running, ferrydRssMiB: +(idleWithVms / 1024).toFixed(1), ferrydRssNoVmsMiB: +(idleEmpty / 1024).toFixed(1) })}\n`,
    );
    for (let i = 0; i < n; i++) await host.ferry('destroy', `mem${i}`);
  } finally {
    await host.kill();
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
