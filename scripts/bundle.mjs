#!/usr/bin/env node
// Bundles each ferry binary into one file with esbuild, for the Debian package:
//
//   node scripts/bundle.mjs [OUTDIR]      # default build/bundle: ferry.cjs (+ ferry-lib/), ferryd.mjs, ferry-lockd.mjs
//
// The native modules (better-sqlite3, koffi) cannot be bundled, nor etcd3 (its gRPC loads .proto files from its
// own directory at run time): they stay `import`s, resolved from the node_modules that scripts/build-deb.sh ships
// beside the bundles (scripts/runtime-modules.mjs). Everything else (commander, fastify, pino, fast-xml-parser)
// is inside. Each bundle holds only what its entry point reaches: the
// CLI's has no SQLite, fastify or gRPC (scripts/build-deb.sh checks that from the metafile).
import { build } from 'esbuild';
import { bundleCli } from './bundle-cli.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'build', 'bundle'));
mkdirSync(out, { recursive: true });

/** Shipped as files in the package's node_modules (scripts/runtime-modules.mjs), never bundled. */
export const EXTERNAL = ['better-sqlite3', 'koffi', 'etcd3'];

writeFileSync(join(out, 'ferry.meta.json'), JSON.stringify(await bundleCli({ root, out, external: EXTERNAL })));

// The daemons are ES modules (they use import.meta).
const entries = [
  { name: 'ferryd', entry: 'src/daemon/main.ts' },
  { name: 'ferry-lockd', entry: 'src/lockd/main.ts' },
];
for (const { name, entry } of entries) {
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, `${name}.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies bundled into an ES module still call require() for node's own modules.
    banner: { js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);" },
  });
  writeFileSync(join(out, `${name}.meta.json`), JSON.stringify(result.metafile));
}
process.stdout.write(`${out}\n`);
