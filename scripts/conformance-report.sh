#!/usr/bin/env bash
# Writes the conformance report for libvirt's x86 test domains (what ferry refuses, loses or leaves off
# QEMU's command line, and the ranked worklist to 90 %), from test/fixtures/libvirt-qemuxml.
#
#   scripts/conformance-report.sh [OUT.md]     # default: stdout
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
node dist/test/helpers/conformance/write-report.js "$@"
