#!/usr/bin/env bash
# Builds (once) the systemd root of scripts/systemd-root.sh with QEMU 10 inside, from bookworm-backports
# (qemu-system-x86 and qemu-utils, no recommended packages), and what ferryd runs beside it in the systemd
# tests: iproute2 (tap devices) and openssl (the cluster CA). Prints its path. Node.js and ferry itself are not
# in it: each test installs ferry into its own copy (test/helpers/install-ferry.ts).
#
#   bash scripts/systemd-root.sh qemu       # .cache/systemd-root/bookworm-qemu
#
# Built in a temporary directory beside it and renamed into place when complete, under a lock, so a
# run that dies half-way never leaves a root that looks built.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(bash scripts/systemd-root.sh)
dest=$PWD/.cache/systemd-root/bookworm-qemu
exec 9>"$dest.lock"
flock 9
if [ -x "$dest/usr/bin/qemu-system-x86_64" ]; then echo "$dest"; exit 0; fi

tmp=$(mktemp -d "$dest.tmp.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.log"' EXIT
rmdir "$tmp"
cp -a --reflink=auto "$base" "$tmp"
echo "systemd-root: installing QEMU 10 from bookworm-backports into a copy of $base" >&2
# Not booted: apt runs as a plain command in the root (nspawn mounts /proc, /sys, /dev for it).
systemd-nspawn -q -D "$tmp" --register=no --keep-unit --pipe -E DEBIAN_FRONTEND=noninteractive sh -c '
  set -e
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 qemu-utils
  apt-get install -y -qq --no-install-recommends iproute2 openssl adduser
  apt-get clean
  rm -rf /var/lib/apt/lists/*
' >"$tmp.log" 2>&1 || { tail -30 "$tmp.log" >&2; exit 1; }
"$tmp/usr/bin/qemu-system-x86_64" -version >/dev/null 2>&1 || [ -x "$tmp/usr/bin/qemu-system-x86_64" ] || { echo "systemd-root: no qemu-system-x86_64 in $tmp" >&2; exit 1; }
mv -T "$tmp" "$dest"
rm -f "$tmp.log"
trap - EXIT
echo "$dest"
