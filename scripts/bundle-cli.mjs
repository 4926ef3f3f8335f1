// Bundles the `ferry` CLI for a fast start (scripts/bundle.mjs calls it; BENCHMARKS.md, CLI start-up):
//
// - CommonJS: node then skips its ES module loader, whose start costs a command that a runbook runs hundreds of times.
// - Split: ferry.cjs only picks the fast path (`ferry list`, one file: ferry-lib/fast-path.cjs) or the full CLI
//   (ferry-lib/main.cjs: commander, the API client, the formats); each verb's module and what only it uses (the XML
//   parser, the certificate tools...) is a chunk in ferry-lib/, read and compiled only when that verb runs
//   (src/cli/verb-modules.ts loads only the verb typed). esbuild splits only ES modules, so the split ES module
//   output is turned into CommonJS file by file.
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

/**
 * The front's two dynamic imports (src/cli/ferry.ts) point at the files the other two builds write: the fast path's
 * single file and the full CLI's entry, both in ferry-lib/.
 */
function frontImports() {
  return {
    name: 'front-imports',
    setup(b) {
      b.onResolve({ filter: /^\.\/(main|fast-path)\.js$/ }, (args) => ({ path: `./ferry-lib/${args.path.slice(2, -3)}.cjs`, external: true }));
    },
  };
}

/**
 * Builds ferry.cjs and ferry-lib/*.cjs into `out` from the repository at `root`; returns esbuild's metafiles merged.
 * Three builds, so that each command loads as few files as it can (each costs ~1 ms of start-up, code cache or not):
 * - the front, ferry.cjs: src/cli/ferry.ts alone, which picks the fast path or the full CLI;
 * - the fast path, ferry-lib/fast-path.cjs: `ferry list`'s fast path and everything it imports, in one file;
 * - the full CLI, ferry-lib/main.cjs: commander and the verbs, split per verb into chunks loaded on use.
 */
export async function bundleCli({ root, out, external }) {
  const minify = { minifyWhitespace: true, minifySyntax: true };
  const common = {
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    metafile: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
    ...minify,
  };
  const lib = join(out, 'ferry-lib');
  const results = [
    await build({ ...common, entryPoints: { ferry: join(root, 'src/cli/ferry.ts') }, outdir: out, plugins: [frontImports()] }),
    await build({ ...common, entryPoints: { 'fast-path': join(root, 'src/cli/fast-path.ts') }, outdir: lib, plugins: [lazyNodeModules()] }),
    await build({
      ...common,
      entryPoints: { main: join(root, 'src/cli/main.ts') },
      outdir: lib,
      chunkNames: '[name]-[hash]',
      splitting: true,
      plugins: [lazyNodeModules()],
    }),
  ];
  rmSync(lib, { recursive: true, force: true });
  const outputFiles = results.flatMap((r) => r.outputFiles);
  for (const file of outputFiles) {
    // import/export become require()/module.exports; import() of a chunk becomes a require() in a promise.
    const cjs = await transform(file.text, { format: 'cjs', loader: 'js', target: 'node20', supported: { 'dynamic-import': false }, ...minify });
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, cjs.code);
  }
  const files = outputFiles.map((f) => relative(out, f.path));
  for (const want of ['ferry.cjs', join('ferry-lib', 'fast-path.cjs'), join('ferry-lib', 'main.cjs')]) {
    if (!files.includes(want)) throw new Error(`bundle-cli: no ${want} among ${files.join(' ')}`);
  }
  return {
    inputs: Object.assign({}, ...results.map((r) => r.metafile.inputs)),
    outputs: Object.assign({}, ...results.map((r) => r.metafile.outputs)),
  };
}
