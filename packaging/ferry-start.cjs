'use strict';
// /usr/bin/ferry: starts the CLI bundle (ferry.cjs and its per-verb chunks in ferry-lib/) from V8 code caches
// written when the package was built (scripts/build-deb.sh), so that V8 does not parse and compile the same
// JavaScript on every command: what node 22's module.enableCompileCache() does, which node 20 lacks.
//
// Each file under this directory is compiled with `<file>.v8cache` when there is one. A cache V8 rejects (another
// node, other flags) costs nothing but the compile it would have saved. Caches are written only when
// FERRY_CODE_CACHE_WRITE=1 (the package build runs a few commands so), after the command ran, so that they hold
// every function it compiled; never at run time, where this directory is read-only. FERRY_CODE_CACHE_REPORT=1
// prints on exit how many files came from a cache, were rejected or had none (the package's test reads it).
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
// This module's constructor is node's Module: requiring node:module would load the ES module loader besides.
const Module = module.constructor;

const dir = __dirname + path.sep;
const writing = process.env.FERRY_CODE_CACHE_WRITE === '1';
const reporting = process.env.FERRY_CODE_CACHE_REPORT === '1';
const toWrite = [];
const counts = { used: 0, rejected: 0, missing: 0 };
const compile = Module.prototype._compile;

Module.prototype._compile = function compileCached(content, filename) {
  if (!filename.startsWith(dir)) return compile.call(this, content, filename);
  const cacheFile = `${filename}.v8cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The wrapper moves the first line off the file's start: a #! line would no longer parse (kept as a comment).
  const source = content.startsWith('#!') ? `//${content}` : content;
  const script = new vm.Script(Module.wrap(source), { filename, cachedData });
  if (cachedData === undefined) counts.missing++;
  else if (script.cachedDataRejected) counts.rejected++;
  else counts.used++;
  if (writing && (cachedData === undefined || script.cachedDataRejected)) toWrite.push({ script, cacheFile });
  const wrapper = script.runInThisContext({ displayErrors: true });
  const requireHere = (id) => this.require(id);
  requireHere.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
  requireHere.cache = Module._cache;
  requireHere.main = process.mainModule;
  return wrapper.call(this.exports, this.exports, requireHere, this, filename, path.dirname(filename));
};

if (writing) {
  process.once('exit', () => {
    for (const { script, cacheFile } of toWrite) fs.writeFileSync(cacheFile, script.createCachedData());
  });
}

if (reporting) {
  process.once('exit', () => process.stderr.write(`code cache: ${counts.used} used, ${counts.rejected} rejected, ${counts.missing} missing\n`));
}

require('./ferry.cjs');
