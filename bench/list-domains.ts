/**
 * `ferry list --all` with many domains defined: wall time of the real CLI.
 * Prints one JSON line per run. Usage: node dist/bench/list-domains.js [--domains 100] [--runs 10]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FerrydHost } from '../test/helpers/ferryd.js';
import { guestXml } from '../test/helpers/guest.js';
import { tempDir } from '../test/helpers/tmp.js';

const { values } = parseArgs({ options: { domains: { type: 'string', default: '100' }, runs: { type: 'string', default: '10' } } });

async function main(): Promise<void> {
  const dir = tempDir('ferry-bench-list-');
  const host = await new FerrydHost({ dir: `${dir.path}/a` }).start();
  try {
    const n = Number(values.domains);
    for (let i = 0; i < n; i++) {
      const f = `${dir.path}/d${i}.xml`;
      writeFileSync(f, guestXml({ name: `vm${String(i).padStart(3, '0')}` }));
      await host.ok('define', f);
    }
    for (let run = 1; run <= Number(values.runs); run++) {
      const t0 = performance.now();
      const out = await host.ok('list', '--all');
      const wallMs = Math.round(performance.now() - t0);
      const rows = out.split('\n').filter((l) => / shut off$/.test(l)).length;
      if (rows !== n) throw new Error(`expected ${n} rows, got ${rows}`);
      process.stdout.write(`${JSON.stringify({ run, domains: n, wallMs })}\n`);
    }
  } finally {
    await host.stopAll(); // ferryd and the ferry-lockd it started
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
