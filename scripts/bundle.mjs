#!/usr/bin/env node
// Bundles each ferry binary into one file with esbuild, for the Debian package:
//
//   node scripts/bundle.mjs [OUTDIR]      # default build/bundle: ferry.cjs, ferryd.mjs, ferry-lockd.mjs
//
// The native modules (better-sqlite3, koffi) cannot be bundled, nor etcd3 (its gRPC loads .proto files from its
// own directory at run time): they stay `import`s, resolved from the node_modules that scripts/build-deb.sh ships
// beside the bundles (scripts/runtime-modules.mjs). Everything else (commander, fastify, pino, fast-xml-parser)
// is inside. Each bundle holds only what its entry point reaches: the
// CLI's has no SQLite, fastify or gRPC (scripts/build-deb.sh checks that from the metafile).
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'build', 'bundle'));
mkdirSync(out, { recursive: true });

/** Shipped as files in the package's node_modules (scripts/runtime-modules.mjs), never bundled. */
export const EXTERNAL = ['better-sqlite3', 'koffi', 'etcd3'];

// The CLI is CommonJS: node then skips its ES module loader, whose start costs a command run hundreds of
// times by a runbook (BENCHMARKS.md, CLI start-up). The daemons are ES modules (they use import.meta).
const entries = [
  { name: 'ferry', entry: 'src/cli/ferry.ts', format: 'cjs', ext: 'cjs' },
  { name: 'ferryd', entry: 'src/daemon/main.ts', format: 'esm', ext: 'mjs' },
  { name: 'ferry-lockd', entry: 'src/lockd/main.ts', format: 'esm', ext: 'mjs' },
];
for (const { name, entry, format, ext } of entries) {
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, `${name}.${ext}`),
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    external: EXTERNAL,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies bundled into an ES module still call require() for node's own modules.
    banner: format === 'esm' ? { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" } : {},
  });
  writeFileSync(join(out, `${name}.meta.json`), JSON.stringify(result.metafile));
}
process.stdout.write(`${out}\n`);
