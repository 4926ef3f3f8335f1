#!/usr/bin/env bash
# Regenerates the man pages in docs/man/ from the command definitions (ferry, ferryd, ferry-lockd) and
# ferryd.conf's key table. A unit test (src/man/pages.test.ts) fails when the checked-in pages differ.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
mkdir -p docs/man
node -e "
import('./dist/src/man/pages.js').then(async (m) => {
  const fs = require('node:fs');
  const pages = await m.manPages();
  for (const p of pages) fs.writeFileSync('docs/man/' + p.file, p.text);
  console.log('wrote ' + pages.map((p) => 'docs/man/' + p.file).join(' '));
});"
