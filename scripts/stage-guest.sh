#!/usr/bin/env bash
# Prints a directory with the test guest (vmlinux, vmlinuz, initrd.img) that QEMU's unprivileged user
# (ferry-qemu) can read: a copy under /var/tmp/ferry-guest/, named by the images' size and
# time, so checkouts with different guests never share one. A checkout often lives where
# other users cannot pass (/root, or a mktemp -d directory, as CI's clone): QEMU could not
# reach the images there, as libvirt's qemu user could not.
#
#   scripts/stage-guest.sh [GUEST_DIR]     (default: .cache/guest)
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/.." && pwd)/.cache/guest}
for f in vmlinux vmlinuz initrd.img; do
  [ -f "$src/$f" ] || { echo "stage-guest: $src/$f is missing: run scripts/build-guest.sh first" >&2; exit 1; }
done
key=$(stat -c '%s-%Y' "$src/vmlinux" "$src/vmlinuz" "$src/initrd.img" | tr '\n' '-')
dst=/var/tmp/ferry-guest/${key%-}
if [ ! -f "$dst/initrd.img" ]; then
  mkdir -p "$dst.tmp.$$"
  cp "$src/vmlinux" "$src/vmlinuz" "$src/initrd.img" "$dst.tmp.$$/"
  chmod 0755 /var/tmp/ferry-guest "$dst.tmp.$$" && chmod 0644 "$dst.tmp.$$"/*
  mv -T "$dst.tmp.$$" "$dst" 2>/dev/null || rm -rf "$dst.tmp.$$"
fi
echo "$dst"
