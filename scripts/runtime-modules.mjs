#!/usr/bin/env node
// Copies the modules the bundles leave external (scripts/bundle.mjs: better-sqlite3, koffi, etcd3) with their
// run-time dependencies into DEST/node_modules, pruned to what runs on linux-x64:
//
//   node scripts/runtime-modules.mjs DEST
//
// better-sqlite3 keeps its compiled build/Release/better_sqlite3.node (built against this machine's node,
// which the package ships: docs/packaging.md), koffi only its linux_x64 binary. Install-time-only
// dependencies (prebuild-install) and sources, docs and tests stay out.
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dest = join(resolve(process.argv[2] ?? 'build/pkg/usr/lib/ferry'), 'node_modules');
const ROOTS = ['better-sqlite3', 'koffi', 'etcd3'];
const INSTALL_TIME_ONLY = new Set(['prebuild-install']);
/** Per package: only these paths (relative to the package) are copied; others: the whole package minus SKIP. */
const ONLY = {
  'better-sqlite3': ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'],
  koffi: ['package.json', 'LICENSE.txt', 'index.js', 'indirect.js', 'build/koffi/linux_x64'],
};
// Also out: npm's own files, and command-line tools a package ships for developers (proto-loader-gen-types).
const SKIP = /(^|\/)(\.github|test|tests|docs?|example|examples|src\/.*\.ts|.*\.md|.*\.d\.ts|.*\.map|\.npmignore|build\/bin)$/;

/** Where `name` resolves from a package directory, as node does (nested node_modules first). */
function resolvePkg(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) throw new Error(`${name} not found from ${fromDir}`);
  }
}

const copied = new Set();
function copyPkg(dir) {
  if (copied.has(dir)) return;
  copied.add(dir);
  const rel = dir.slice(root.length + 1); // node_modules/a/node_modules/b keeps its nesting
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const to = join(dest, '..', rel);
  const only = ONLY[pkg.name];
  if (only) for (const p of only) cpSync(join(dir, p), join(to, p), { recursive: true });
  else cpSync(dir, to, { recursive: true, filter: (src) => !src.slice(dir.length).includes('/node_modules') && !SKIP.test(src.slice(dir.length + 1)) });
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    if (INSTALL_TIME_ONLY.has(dep)) continue;
    let depDir;
    try {
      depDir = resolvePkg(dep, dir);
    } catch (err) {
      if (pkg.optionalDependencies?.[dep]) continue;
      throw err;
    }
    copyPkg(depDir);
  }
}

mkdirSync(dest, { recursive: true });
for (const name of ROOTS) copyPkg(resolvePkg(name, root));
process.stdout.write(`${copied.size} packages in ${dest}\n`);
