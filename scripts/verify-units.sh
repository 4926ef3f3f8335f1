#!/bin/bash
# Runs `systemd-analyze verify` on packaging/systemd/*: every unit, its dependencies and ordering, the
# executables it runs. The installed paths (/usr/sbin/ferryd, ...) do not exist in a checkout: the units
# are checked from a copy whose Exec lines point at stand-in executables of the same names.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units" "$tmp/bin"
for b in ferryd ferry-lockd ferry-guests; do printf '#!/bin/sh\n' > "$tmp/bin/$b"; chmod +x "$tmp/bin/$b"; done
for u in "$here"/packaging/systemd/*; do
  sed -e "s#/usr/sbin/ferryd#$tmp/bin/ferryd#g" -e "s#/usr/sbin/ferry-lockd#$tmp/bin/ferry-lockd#g" \
      -e "s#/usr/libexec/ferry/ferry-guests#$tmp/bin/ferry-guests#g" "$u" > "$tmp/units/$(basename "$u")"
done
# The script units run must exist in the checkout, executable.
test -x "$here/packaging/libexec/ferry-guests"
out=$(cd "$tmp/units" && systemd-analyze verify --man=no ./* 2>&1) || rc=$?
# What verify says of other packages' units it loaded on the way (a libvirtd.service from a newer systemd's
# world: "Failed to parse service type ... notify-reload") is theirs, not ours: only the rest counts.
ours=$(printf '%s\n' "$out" | grep -v -E '^(/usr)?/lib/systemd/system/|^/etc/systemd/system/' || true)
# verify exits 0 on some warnings: any output about ours is a finding; a failure with only theirs is not.
if [ -n "$ours" ]; then echo "$ours"; exit 1; fi
[ "${rc:-0}" = 0 ] || [ -n "$out" ] || { echo "systemd-analyze verify failed (exit $rc) and said nothing"; exit 1; }
echo "systemd-analyze verify: $(ls "$tmp/units" | wc -l) units OK"
