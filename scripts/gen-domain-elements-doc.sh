#!/usr/bin/env bash
# Regenerates docs/domain-elements.md from the rule tree (src/vm/schema/domain-schema.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
node -e "import('./dist/src/vm/schema/schema-doc.js').then((m) => process.stdout.write(m.renderDomainElementsDoc()))" > docs/domain-elements.md
echo "wrote docs/domain-elements.md"
