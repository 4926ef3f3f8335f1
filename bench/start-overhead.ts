/**
 * What `ferry start` adds to QEMU's own start. For the same domain it times:
 *   qemuMs   QEMU alone: spawn the exact command line ferryd used (from the domain log)
 *            until the QMP greeting is negotiated and `cont` answered
 *   apiMs    POST /v1/domains/NAME/start on ferryd's socket, until the answer
 *   cliMs    the `ferry start NAME` command, node start-up included
 * Prints one JSON line per run. Usage: node dist/bench/start-overhead.js [--runs 5]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { QemuProcess } from '../src/qemu/process.js';
import { FerrydHost } from '../test/helpers/ferryd.js';
import { guestXml } from '../test/helpers/guest.js';
import { tempDir } from '../test/helpers/tmp.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });

function post(socket: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 2 } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

/** The last command line ferryd wrote to the domain log. */
function lastArgv(log: string): string[] {
  const block = log.split(/\n(?=\S+: starting up\n)/).at(-1) ?? '';
  const lines = block.split('\n').slice(2); // timestamp line, binary line
  const args: string[] = [];
  for (const l of lines) {
    if (!l.trim()) break;
    const v = l.replace(/ \\$/, '');
    args.push(v.startsWith("'") ? v.slice(1, -1).replace(/'\\''/g, "'") : v);
    if (!l.endsWith('\\')) break;
  }
  return args;
}

async function main(): Promise<void> {
  const dir = tempDir('ferry-bench-start-');
  const host = await new FerrydHost({ dir: `${dir.path}/a` }).start();
  try {
    const f = `${dir.path}/s.xml`;
    writeFileSync(f, guestXml({ name: 'starter' }));
    await host.ok('define', f);
    await host.ok('start', 'starter'); // warm caches (QEMU binary probe, page cache)
    await host.ok('destroy', 'starter');
    for (let run = 1; run <= Number(values.runs); run++) {
      let t0 = performance.now();
      await post(host.socket, '/v1/domains/starter/start');
      const apiMs = performance.now() - t0;
      await host.ok('destroy', 'starter');

      t0 = performance.now();
      await host.ok('start', 'starter');
      const cliMs = performance.now() - t0;
      await host.ok('destroy', 'starter');

      const argv = lastArgv(readFileSync(`${host.stateDir}/log/starter.log`, 'utf8')).map((a) => a.replace(`${host.stateDir}/run`, `${dir.path}/raw`));
      const { mkdirSync } = await import('node:fs');
      const uuid = argv[argv.indexOf('-uuid') + 1] as string;
      mkdirSync(`${dir.path}/raw/${uuid}`, { recursive: true });
      t0 = performance.now();
      const { process: qemu, monitor } = await QemuProcess.launch({
        binary: 'qemu-system-x86_64',
        argv,
        logPath: `${dir.path}/raw.log`,
        qmpSocket: `${dir.path}/raw/${uuid}/qmp.sock`,
      });
      await monitor.cont();
      const qemuMs = performance.now() - t0;
      await qemu.terminate({ quit: () => monitor.quit() });
      process.stdout.write(
        `${JSON.stringify({ run, qemuMs: Math.round(qemuMs), apiMs: Math.round(apiMs), addedMs: Math.round(apiMs - qemuMs), cliMs: Math.round(cliMs) })}\n`,
      );
    }
  } finally {
    await host.kill();
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
