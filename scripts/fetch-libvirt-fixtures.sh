#!/usr/bin/env bash
# Refreshes test/fixtures/libvirt-qemuxml from a copy of libvirt that is already on this machine:
# libvirt's own x86 test domains (tests/qemuxmlconfdata/*.x86_64-latest.xml), the QEMU command line
# libvirt builds for each (*.x86_64-latest.args) and, for the few libvirt itself refuses to start,
# its error (*.x86_64-latest.err). The conformance test (test/integration/libvirt-conformance.test.ts)
# reads only this fixture and never the network.
#
#   scripts/fetch-libvirt-fixtures.sh LIBVIRT REV
#
#   LIBVIRT  a git checkout or bare mirror of libvirt (REV is then any commit-ish: a tag such as
#            v11.3.0 or a commit id), or an unpacked release tarball (REV is then its version,
#            11.3.0, checked against the tree's meson.build)
#
# Writes the files, libvirt's licence (COPYING.LESSER) and ORIGIN (where they came from) into the
# fixture directory, replacing what was there. README.md in that directory is kept.
set -euo pipefail

usage() { echo "usage: $0 LIBVIRT-CHECKOUT-OR-TREE REV" >&2; exit 2; }
[ $# -eq 2 ] || usage
src=$1 rev=$2
out="$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/libvirt-qemuxml"
dir=tests/qemuxmlconfdata
[ -d "$src" ] || { echo "fetch-libvirt-fixtures: '$src' is not a directory" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Copies one path of the libvirt tree into $tmp, from git or from the plain tree.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  commit=$(git -C "$src" rev-parse --verify "$rev^{commit}") || { echo "fetch-libvirt-fixtures: no commit '$rev' in $src" >&2; exit 1; }
  origin="git commit $commit ($rev)"
  list() { git -C "$src" ls-tree --name-only "$commit" "$dir/" | sed "s|^$dir/||"; }
  take() { git -C "$src" show "$commit:$1" > "$2"; }
else
  version=$(sed -n "s/^ *version: '\([^']*\)',.*/\1/p" "$src/meson.build" | head -1)
  [ "$version" = "$rev" ] || { echo "fetch-libvirt-fixtures: $src is libvirt '$version', not '$rev'" >&2; exit 1; }
  origin="release $version (tag v$version), unpacked release tarball"
  list() { ls "$src/$dir"; }
  take() { cp "$src/$1" "$2"; }
fi

list > "$tmp/.names"
n_xml=0 n_args=0 n_err=0
for f in $(grep '\.x86_64-latest\.xml$' "$tmp/.names"); do
  base=${f%.xml}
  take "$dir/$f" "$tmp/$f"; n_xml=$((n_xml + 1))
  if grep -qFx "$base.args" "$tmp/.names"; then take "$dir/$base.args" "$tmp/$base.args"; n_args=$((n_args + 1)); fi
  if grep -qFx "$base.err" "$tmp/.names"; then take "$dir/$base.err" "$tmp/$base.err"; n_err=$((n_err + 1)); fi
done
rm "$tmp/.names"
[ "$n_xml" -gt 0 ] || { echo "fetch-libvirt-fixtures: no $dir/*.x86_64-latest.xml at $rev" >&2; exit 1; }
take COPYING.LESSER "$tmp/COPYING.LESSER"

mkdir -p "$out"
find "$out" -maxdepth 1 -type f \( -name '*.x86_64-latest.*' -o -name COPYING.LESSER -o -name ORIGIN \) -delete
cp "$tmp"/* "$out/"
cat > "$out/ORIGIN" <<EOF
libvirt $dir/*.x86_64-latest.{xml,args,err}
from: $origin
files: $n_xml .xml, $n_args .args, $n_err .err
EOF
echo "fetch-libvirt-fixtures: $n_xml domains, $n_args command lines, $n_err refusals from $origin -> $out"
