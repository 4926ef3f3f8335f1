#!/usr/bin/env bash
# Runs every test: unit tests (beside the code), integration tests (real ferryd, real QEMU)
# and e2e tests. Installs what is missing first (scripts/setup.sh).
#
#   npm test                 # everything
#   npm test -- unit         # only the unit tests (no QEMU needed; beside the code, and test/fakes)
#   npm test -- integration  # only test/integration
#   npm test -- system       # only test/system (ferry under a real systemd, in systemd-nspawn containers)
#   npm test -- lint         # only the lint (npm run lint: ESLint, Prettier's check, the layer rules); `all` and `unit` run it first
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

which=${1:-all}
# The lint runs first; if it fails, the tests still run (their results are worth having) and the run fails at the end.
lint_rc=0
case "$which" in
  all|unit) bash scripts/lint.sh || lint_rc=$? ;;
  lint) exec bash scripts/lint.sh ;;
esac
files=()
case "$which" in
  unit) mapfile -t files < <(find dist/src dist/lab dist/test/fakes -name '*.test.js' | sort) ;;
  integration) mapfile -t files < <(find dist/test/integration -name '*.test.js' | sort) ;;
  e2e) mapfile -t files < <(find dist/test/e2e -name '*.test.js' 2>/dev/null | sort) ;;
  system) mapfile -t files < <(find dist/test/system -name '*.test.js' 2>/dev/null | sort) ;;
  all) mapfile -t files < <( (find dist/src dist/lab dist/test/fakes -name '*.test.js' | sort; find dist/test/integration dist/test/e2e dist/test/system -name '*.test.js' 2>/dev/null | sort) ) ;;
  *) mapfile -t files < <(find dist -path "*$which*" -name '*.test.js' | sort) ;;
esac
[ "${#files[@]}" -gt 0 ] || { echo "test: no test files for '$which'" >&2; exit 1; }

# The systemd tests boot Debian 12 roots (debootstrap, then QEMU from bookworm-backports: 2-3 minutes of
# downloads and unpacking on a fresh machine) and install the package: build them in the background while
# the first test files run, so the systemd tests find them ready (each builder takes a lock; a test that
# comes first waits for it). Their output goes to a log; a builder that failed fails its test, which says so.
if printf '%s\n' "${files[@]}" | grep -q -e '/test/system/' -e 'package-install'; then
  mkdir -p .cache
  ( FERRY_DEB_COMPRESS=gzip bash scripts/build-deb.sh; bash scripts/systemd-root.sh qemu ) >.cache/systemd-root-prebuild.log 2>&1 &
fi

# QEMU guests are CPU-heavy under TCG: one test file at a time keeps timings honest on 2 cores.
# A file whose test failed must not hang the run on a handle it left open (--test-force-exit);
# no single test or file takes 5 minutes (the longest file takes about 50 s).
[ "$lint_rc" = 0 ] && exec node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 "${files[@]}"
node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 "${files[@]}" || true
echo "test: npm run lint failed (its output is above the tests')" >&2
exit 1
