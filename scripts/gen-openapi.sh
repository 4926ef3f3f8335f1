#!/usr/bin/env bash
# Regenerates docs/api/openapi.json from the API routes' schemas (src/api/openapi-document.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
mkdir -p docs/api
node -e "import('./dist/src/api/openapi-document.js').then(async (m) => process.stdout.write(m.renderOpenApiDocument(await m.buildOpenApiDocument())))" > docs/api/openapi.json
echo "wrote docs/api/openapi.json"
