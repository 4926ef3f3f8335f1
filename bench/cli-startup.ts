/**
 * The CLI's start-up: `ferry list --all` against a real ferryd (over its unix socket), side by side with a bare
 * `node -e 0` (node's own floor) and `virsh list --all` (when virsh is installed), round-robin so that the
 * machine's load falls on every variant alike. Prints one JSON line per variant (median and p90 in ms) and
 * how much each adds to `node -e 0`, in wall time and in CPU time (user + sys). Usage: node dist/bench/cli-startup.js [--runs 20]
 *
 * Variants: dist/ (tsc's output, one module per file: today's checkout), the esbuild bundle as one ES module and
 * as one CommonJS file, the bundle split per verb (scripts/bundle-cli.mjs: CommonJS, node's modules loaded on first
 * use, minified), and what the Debian package runs: that bundle through its launcher (packaging/ferry-start.cjs)
 * with V8 code caches (vm.Script cachedData, what node 22's module.enableCompileCache does; node 20 has no such
 * switch), which takes `list` through the CLI's fast path (src/cli/fast-path.ts), and the same with the fast path
 * off. A bare `http.get` of the same list is node's own floor for one daemon call through its HTTP client, the same
 * request on a bare `net` socket the floor of the fast path. node 20's startup snapshot
 * (--build-snapshot) is tried too and reported as failing when it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FerrydHost } from '../test/helpers/ferryd.js';
import { ChildrenCpu } from './children-cpu.js';
import { REPO_ROOT } from '../test/helpers/guest.js';
import { tempDir } from '../test/helpers/tmp.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, instructions: { type: 'string', default: '0' } } });

/**
 * The instructions one run executes, all threads, counted by valgrind (callgrind): a measure the machine's load
 * does not move (±1 %), where time does. Kernel work (page faults, file reads) is not in it.
 */
function instructions(argv: string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', ...argv], { env, encoding: 'utf8' });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`valgrind did not count ${argv.join(' ')}: ${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

interface Variant {
  name: string;
  argv: string[];
  /** Added to the environment of this variant's runs. */
  env?: Record<string, string>;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** The same request on a bare net socket, printing the body: what a node CLI pays without node's HTTP client. */
const NET_FLOOR = `const s = require('node:net').connect(process.argv[1], () => s.write('GET /v1/domains HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'));
let b = ''; s.setEncoding('utf8'); s.on('data', (d) => (b += d)); s.on('end', () => process.stdout.write(b.slice(b.indexOf('\\r\\n\\r\\n') + 4) + '\\n'));`;

/** A bare node HTTP client to the same socket, printing the reply: what any node CLI pays for one daemon call. */
const HTTP_FLOOR = `require('node:http').get({ socketPath: process.argv[1], path: '/v1/domains' }, (r) => {
  let b = ''; r.setEncoding('utf8'); r.on('data', (d) => (b += d)); r.on('end', () => process.stdout.write(b + '\\n'));
});`;

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const dir = tempDir('ferry-bench-startup-');
  const host = await new FerrydHost({ dir: `${dir.path}/a` }).start();
  try {
    const b = join(dir.path, 'bundle');
    execFileSync('node', [join(REPO_ROOT, 'scripts', 'bundle.mjs'), b], { stdio: 'ignore' });
    const esbuild = join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');
    // The same bundle as an ES module, for comparison (the package ships the CommonJS one).
    execFileSync(esbuild, [
      join(REPO_ROOT, 'src/cli/ferry.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      `--outfile=${join(b, 'ferry-esm.mjs')}`,
      '--log-level=error',
      "--banner:js=import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
    ]);
    // One CommonJS file, as the package shipped before the split (no lazy verbs in the file, no lazy node modules).
    execFileSync(esbuild, [
      join(REPO_ROOT, 'src/cli/ferry.ts'),
      '--bundle',
      '--platform=node',
      '--format=cjs',
      '--target=node20',
      `--outfile=${join(b, 'ferry-one-file.cjs')}`,
      '--log-level=error',
    ]);
    // The package's launcher and its V8 code caches, made as scripts/build-deb.sh makes them.
    copyFileSync(join(REPO_ROOT, 'packaging', 'ferry-start.cjs'), join(b, 'ferry-start.cjs'));
    for (const args of [['list', '--all'], ['--version'], ['help']]) {
      spawnSync('node', [join(b, 'ferry-start.cjs'), ...args], {
        env: { ...process.env, FERRY_CODE_CACHE_WRITE: '1', FERRY_DEFAULT_URI: `ferry:///system?socket=${join(b, 'no-daemon.sock')}` },
        stdio: 'ignore',
      });
    }
    const variants: Variant[] = [
      { name: 'node -e 0', argv: ['node', '-e', '0'] },
      // The node modules the CLI needs (commander loads child_process; the transports http and https): its floor.
      {
        name: "node -e require('http','https','child_process')",
        argv: ['node', '-e', "require('node:http');require('node:https');require('node:child_process')"],
      },
      { name: 'ferry (dist/, tsc)', argv: ['node', join(REPO_ROOT, 'bin', 'ferry'), 'list', '--all'] },
      { name: 'ferry (esbuild bundle as ESM)', argv: ['node', join(b, 'ferry-esm.mjs'), 'list', '--all'] },
      { name: 'ferry (the package: CJS bundle split per verb)', argv: ['node', join(b, 'ferry.cjs'), 'list', '--all'] },
      { name: "ferry --version (the package's bundle: start-up without the daemon call)", argv: ['node', join(b, 'ferry.cjs'), '--version'] },
      { name: 'ferry, one CJS file (no split, no lazy node modules, not minified)', argv: ['node', join(b, 'ferry-one-file.cjs'), 'list', '--all'] },
      { name: "node http.get of the same list (node's floor for one daemon call)", argv: ['node', '-e', HTTP_FLOOR, host.socket] },
      { name: "node net request of the same list (no HTTP module: the fast path's floor)", argv: ['node', '-e', NET_FLOOR, host.socket] },
      { name: 'ferry, the package: its launcher with V8 code caches (the fast path)', argv: ['node', join(b, 'ferry-start.cjs'), 'list', '--all'] },
      {
        name: 'ferry, the package, the full CLI (FERRY_CLI_FAST_PATH=0: commander)',
        argv: ['node', join(b, 'ferry-start.cjs'), 'list', '--all'],
        env: { FERRY_CLI_FAST_PATH: '0' },
      },
      { name: 'ferry --version, the package with V8 code caches', argv: ['node', join(b, 'ferry-start.cjs'), '--version'] },
    ];
    // node 20's startup snapshot of the CLI bundle, with node's optional modules lazy as in the package (a snapshot
    // cannot hold node:http).
    const snapEntry = join(b, 'snapshot-entry.cjs');
    const { build } = await import('esbuild');
    const { lazyNodeModules } = (await import(join(REPO_ROOT, 'scripts', 'bundle-cli.mjs'))) as { lazyNodeModules: () => import('esbuild').Plugin };
    await build({
      entryPoints: [join(REPO_ROOT, 'bench/cli-snapshot-entry.ts')],
      outfile: snapEntry,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      plugins: [lazyNodeModules()],
      logLevel: 'error',
    });
    const blob = join(b, 'ferry.blob');
    const built = spawnSync('node', ['--snapshot-blob', blob, '--build-snapshot', snapEntry], { encoding: 'utf8' });
    if (built.status === 0 && existsSync(blob)) variants.push({ name: 'ferry (startup snapshot)', argv: ['node', '--snapshot-blob', blob, 'list', '--all'] });
    else
      process.stdout.write(
        `${JSON.stringify({ variant: 'ferry (startup snapshot)', error: (built.stderr.split('\n').find((l) => /Error/.test(l)) ?? built.stderr).trim() })}\n`,
      );
    if (spawnSync('virsh', ['--version']).status === 0) variants.push({ name: 'virsh list --all', argv: ['virsh', '-c', 'test:///default', 'list', '--all'] });

    const env = { ...process.env, FERRY_DEFAULT_URI: host.uri, LC_ALL: 'C' };
    const counted = Number(values.instructions);
    if (counted > 0) {
      // --instructions N: the median count of N runs of each variant, beside node -e 0's.
      const medianOf = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
      const counts = variants.map((v) => ({ v, n: medianOf(Array.from({ length: counted }, () => instructions(v.argv, { ...env, ...v.env }))) }));
      const base = counts[0]?.n ?? 0;
      for (const { v, n } of counts) {
        process.stdout.write(
          `${JSON.stringify({ variant: v.name, runs: counted, instructionsM: Math.round(n / 1e5) / 10, overNodeM: Math.round((n - base) / 1e5) / 10 })}\n`,
        );
      }
      return;
    }
    // One untimed run each: the code cache is written, the page cache warm.
    for (const v of variants) {
      const r = spawnSync(v.argv[0] as string, v.argv.slice(1), { env: { ...env, ...v.env }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${v.name} failed: ${r.stderr}`);
    }
    // Wall time, and CPU time (user + sys, getrusage of the children) which a loaded machine disturbs less.
    const childrenCpu = new ChildrenCpu();
    const wall = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    for (let i = 0; i < runs; i++) {
      for (const v of variants) {
        const c0 = childrenCpu.ms();
        const t0 = performance.now();
        const r = spawnSync(v.argv[0] as string, v.argv.slice(1), { env: { ...env, ...v.env }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
        const ms = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${v.name} exited ${r.status}: ${r.stderr}`);
        wall.get(v.name)?.push(ms);
        cpu.get(v.name)?.push(childrenCpu.ms() - c0);
      }
    }
    const med = (xs: number[]): number =>
      quantile(
        [...xs].sort((x, y) => x - y),
        0.5,
      );
    const p90 = (xs: number[]): number =>
      quantile(
        [...xs].sort((x, y) => x - y),
        0.9,
      );
    const baseWall = med(wall.get('node -e 0') ?? []);
    const baseCpu = med(cpu.get('node -e 0') ?? []);
    for (const v of variants) {
      const w = wall.get(v.name) ?? [];
      const c = cpu.get(v.name) ?? [];
      process.stdout.write(
        `${JSON.stringify({
          variant: v.name,
          runs,
          medianMs: Math.round(med(w)),
          p90Ms: Math.round(p90(w)),
          overNodeMs: Math.round(med(w) - baseWall),
          cpuMedianMs: Math.round(med(c)),
          cpuP90Ms: Math.round(p90(c)),
          cpuOverNodeMs: Math.round(med(c) - baseCpu),
        })}\n`,
      );
    }
  } finally {
    await host.stopAll();
    dir.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
