#!/usr/bin/env bash
# Builds ferry's test guest from Debian's packages: Debian's kernel (linux-image-amd64),
# a busybox initramfs and ferry-load (guest/ferry-load.c), a static program that touches
# and dirties memory and prints a heartbeat on the serial console.
#
#   scripts/build-guest.sh [OUT_DIR]      (default: .cache/guest)
#
# Produces OUT_DIR/vmlinuz and OUT_DIR/initrd.img. Needs: apt-get (for the kernel package),
# busybox-static, cpio, gcc with static libc. Re-running reuses the downloaded kernel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/guest}
work=$out/work
mkdir -p "$out" "$work"

need() { command -v "$1" >/dev/null || { echo "build-guest: missing $1 (apt-get install $2)" >&2; exit 1; }; }
need cpio cpio
need gcc gcc
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null || { echo "build-guest: missing /bin/busybox (apt-get install busybox-static)" >&2; exit 1; }

# 1. The kernel: linux-image-amd64 is a metapackage; fetch the image it depends on.
if [ ! -f "$work/kernel.done" ]; then
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$pkg" ] || { echo "build-guest: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
  rm -rf "$work/kernel" && mkdir -p "$work/kernel"
  (cd "$work" && rm -f linux-image-*.deb && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
  rm -f "$work"/linux-image-*.deb
  touch "$work/kernel.done"
fi
kver=$(ls "$work/kernel/lib/modules" | head -1)
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"

# 2. ferry-load, static.
gcc -static -O2 -Wall -Wextra -o "$work/ferry-load" "$root/guest/ferry-load.c"

# 3. The initramfs.
rd=$work/initramfs
rm -rf "$rd" && mkdir -p "$rd"/{bin,dev,proc,sys,lib/modules,tmp}
cp /bin/busybox "$rd/bin/busybox"
cp "$work/ferry-load" "$rd/bin/ferry-load"
install -m 0755 "$root/guest/init" "$rd/init"
mods=$work/kernel/lib/modules/$kver/kernel
for m in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_pci_modern_dev.ko \
         drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko \
         net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko \
         drivers/misc/pvpanic/pvpanic.ko drivers/misc/pvpanic/pvpanic-mmio.ko drivers/misc/pvpanic/pvpanic-pci.ko \
         drivers/acpi/button.ko drivers/input/evdev.ko; do
  f=$mods/$m
  if [ -f "$f" ]; then cp "$f" "$rd/lib/modules/"; elif [ -f "$f.xz" ]; then xz -dc "$f.xz" > "$rd/lib/modules/$(basename "$m")"; fi
done
(cd "$rd" && find . | sort | cpio -o -H newc --quiet) | gzip -1 > "$out/initrd.img"
echo "$kver" > "$out/kernel-version"
echo "build-guest: $out/vmlinuz ($kver) and $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1))"
