// Bundles the `ferry` CLI for a fast start (scripts/bundle.mjs calls it; BENCHMARKS.md, CLI start-up):
//
// - CommonJS: node then skips its ES module loader, whose start costs a command that a runbook runs hundreds of times.
// - Split: ferry.cjs holds what every command needs (commander, the API client, the formats); each verb's module
//   and what only it uses (the XML parser, the certificate tools...) is a chunk in ferry-lib/, read and compiled
//   only when that verb runs (src/cli/verb-modules.ts loads only the verb typed). esbuild splits only ES modules,
//   so the split ES module output is turned into CommonJS file by file.
// - node's own modules that only some verbs need are loaded on first use (LAZY_NODE_MODULES).
// - Whitespace and syntax are minified, names are kept (stack traces stay readable).
import { build, transform } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

/**
 * node's own modules that the CLI needs only for some verbs or URIs (an ssh tunnel, TLS, a certificate, the
 * console): each is loaded on its first use instead of at start-up. node compiles its own modules when they are
 * first required, and these cost ~25 ms of a command's start.
 */
const LAZY_NODE_MODULES = ['child_process', 'crypto', 'dgram', 'fs/promises', 'http', 'https', 'os', 'readline', 'timers/promises', 'tls'];

/**
 * An esbuild plugin that replaces each of LAZY_NODE_MODULES by a stand-in that requires the real module on the
 * first read of one of its properties. The stand-in knows the module's property names (read here, from the same
 * node the package ships), so esbuild's ES-module interop can copy them without loading the module.
 */
export function lazyNodeModules() {
  const req = createRequire(import.meta.url);
  const names = new Set(LAZY_NODE_MODULES.flatMap((m) => [m, `node:${m}`]));
  return {
    name: 'lazy-node-modules',
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        if (!names.has(args.path)) return undefined;
        if (args.namespace === 'lazy-node') return { path: args.path, external: true };
        return { path: args.path.replace(/^node:/, ''), namespace: 'lazy-node' };
      });
      b.onLoad({ filter: /.*/, namespace: 'lazy-node' }, (args) => {
        const keys = Object.getOwnPropertyNames(req(`node:${args.path}`));
        return {
          loader: 'js',
          contents: `const real = () => require(${JSON.stringify(`node:${args.path}`)});
const keys = ${JSON.stringify(keys)};
module.exports = new Proxy({}, {
  get: (_, k) => (k === '__esModule' ? undefined : real()[k]),
  has: (_, k) => k in real(),
  ownKeys: () => keys,
  getOwnPropertyDescriptor: (_, k) => (keys.includes(k) ? { configurable: true, enumerable: true, writable: false, value: undefined } : undefined),
});
`,
        };
      });
    },
  };
}

/** Builds ferry.cjs and ferry-lib/*.cjs into `out` from the repository at `root`; returns esbuild's metafile. */
export async function bundleCli({ root, out, external }) {
  const minify = { minifyWhitespace: true, minifySyntax: true };
  const result = await build({
    entryPoints: { ferry: join(root, 'src/cli/ferry.ts') },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    chunkNames: 'ferry-lib/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    plugins: [lazyNodeModules()],
    metafile: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
    ...minify,
  });
  rmSync(join(out, 'ferry-lib'), { recursive: true, force: true });
  for (const file of result.outputFiles) {
    // import/export become require()/module.exports; import() of a chunk becomes a require() in a promise.
    const cjs = await transform(file.text, { format: 'cjs', loader: 'js', target: 'node20', supported: { 'dynamic-import': false }, ...minify });
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, cjs.code);
  }
  const files = result.outputFiles.map((f) => relative(out, f.path));
  if (!files.includes('ferry.cjs')) throw new Error(`bundle-cli: no ferry.cjs among ${files.join(' ')}`);
  return result.metafile;
}
