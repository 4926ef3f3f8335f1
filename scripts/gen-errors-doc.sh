#!/usr/bin/env bash
# Regenerates docs/errors.md from the error registry (src/errors/codes.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
node -e "import('./dist/src/errors/errors-doc.js').then((m) => process.stdout.write(m.renderErrorsDoc()))" > docs/errors.md
echo "wrote docs/errors.md"
