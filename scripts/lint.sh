#!/usr/bin/env bash
# npm run lint: ESLint (eslint.config.js), Prettier's check (.prettierrc.json) and the layer rules
# (.dependency-cruiser.cjs), side by side (about half a minute on 2 cores). Fails if any of them fails.
#   Fix the formatting with: npx prettier --write .  (a second run may still change a few member chains:
#   repeat until npx prettier --check . passes)
#   See a layer violation with: npx depcruise src --config .dependency-cruiser.cjs
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bin=node_modules/.bin
"$bin/eslint" --cache --cache-location node_modules/.cache/eslint/ . >"$out/eslint" 2>&1 &
eslint=$!
"$bin/prettier" --check --cache --log-level warn . >"$out/prettier" 2>&1 &
prettier=$!
"$bin/depcruise" src --config .dependency-cruiser.cjs --output-type err >"$out/depcruise" 2>&1 &
depcruise=$!
rc=0
for tool in eslint prettier depcruise; do
  if wait "${!tool}"; then
    echo "lint: $tool ok"
  else
    rc=1
    echo "lint: $tool FAILED" >&2
    cat "$out/$tool" >&2
  fi
done
exit "$rc"
