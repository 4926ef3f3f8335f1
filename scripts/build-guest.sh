#!/usr/bin/env bash
# Builds ferry's test guest from Debian's packages: Debian's kernel (linux-image-amd64),
# a busybox initramfs and ferry-load (guest/ferry-load.c), a static program that touches
# and dirties memory and prints a heartbeat on the serial console. The initramfs also
# carries Debian's qemu-guest-agent (qemu-ga with its shared libraries), the kernel
# modules of the devices ferry's tests attach (resolved through modules.dep), and
# guest/ferry-report, which prints the devices the guest sees (`ferry-guest:` lines).
#
#   scripts/build-guest.sh [OUT_DIR]      (default: .cache/guest)
#
# Produces OUT_DIR/vmlinux (the kernel as an ELF file, which QEMU boots straight through its PVH
# entry point), OUT_DIR/vmlinuz (the same kernel as Debian ships it, a bzImage: what UEFI firmware
# boots through its EFI stub) and OUT_DIR/initrd.img (a gzipped cpio archive). Under TCG, the
# bzImage's own XZ decompression is most of a boot (20-40 s of the guest's 25-45 s on a busy
# 2-core machine; the ELF boots in 7-13 s); the tests still boot the bzImage by default (see
# guestXml's elf option in test/helpers/guest.ts for why). Needs: apt-get (for the kernel and
# qemu-guest-agent packages), busybox-static, cpio, gcc with static libc, and the shared
# libraries qemu-ga links (the host's, found with ldd: QEMU's own dependencies). Re-running
# reuses the downloaded packages.
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
# The package ships no modules.dep (its postinst runs depmod): busybox's depmod writes one.
[ -s "$work/kernel/lib/modules/$kver/modules.dep" ] || /bin/busybox depmod -b "$work/kernel" "$kver"

# 1b. qemu-guest-agent, the same way.
if [ ! -f "$work/qga.done" ]; then
  rm -rf "$work/qga" && mkdir -p "$work/qga"
  (cd "$work" && rm -f qemu-guest-agent_*.deb && apt-get download qemu-guest-agent 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  dpkg-deb -x "$work"/qemu-guest-agent_*.deb "$work/qga"
  rm -f "$work"/qemu-guest-agent_*.deb
  touch "$work/qga.done"
fi
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
# The ELF inside the bzImage: Debian compresses it with XZ; its stream starts at the first XZ magic
# (xz stops at the end of the stream and complains of what follows it: the check is on the result).
xz_at=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$out/vmlinuz" | head -1 | cut -d: -f1)
[ -n "$xz_at" ] || { echo "build-guest: no XZ stream in $out/vmlinuz (Debian's kernel is XZ-compressed)" >&2; exit 1; }
tail -c +$((xz_at + 1)) "$out/vmlinuz" | xz -dc > "$out/vmlinux.tmp" 2>/dev/null || true
[ "$(head -c 4 "$out/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || { echo "build-guest: $out/vmlinuz holds no ELF kernel" >&2; exit 1; }
mv "$out/vmlinux.tmp" "$out/vmlinux"

# 2. ferry-load, static.
gcc -static -O2 -Wall -Wextra -o "$work/ferry-load" "$root/guest/ferry-load.c"

# 3. The initramfs.
rd=$work/initramfs
rm -rf "$rd" && mkdir -p "$rd"/{bin,sbin,dev,proc,sys,tmp,run,mnt,etc,lib/modules,lib64,var}
ln -s ../run "$rd/var/run"
cp /bin/busybox "$rd/bin/busybox"
cp "$work/ferry-load" "$rd/bin/ferry-load"
install -m 0755 "$root/guest/init" "$rd/init"
install -m 0755 "$root/guest/ferry-report" "$rd/bin/ferry-report"
install -m 0755 "$root/guest/ferry-devices" "$rd/bin/ferry-devices"
install -m 0755 "$root/guest/shutdown" "$rd/sbin/shutdown"
ln -s ../bin/busybox "$rd/sbin/hwclock"
printf 'PRETTY_NAME="ferry test guest"\nNAME="ferry test guest"\nID=ferry-guest\nVERSION_ID=1\n' > "$rd/etc/os-release"

# Kernel modules: the ones init loads (guest/init names them) and everything they need, as
# modules.dep says, under their own paths, with a modules.dep of their own for modprobe.
mdir=$work/kernel/lib/modules/$kver
want="virtio_pci virtio_blk virtio_net pvpanic-pci pvpanic-mmio button evdev
      virtio_console virtio-rng virtio_balloon virtio_input virtio_scsi sd_mod sr_mod isofs
      ahci ata_piix ata_generic xhci-pci ehci-pci uhci-hcd usbhid hid-generic
      i6300esb iTCO_wdt lpc_ich floppy ext4 crc32c_generic 9p 9pnet_virtio"
for m in $want; do
  n=$(echo "$m" | tr - _)
  line=$(awk -v n="$n" '{ f = $1; sub(/:$/, "", f); b = f; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b); gsub(/-/, "_", b); if (b == n) { print; exit } }' "$mdir/modules.dep")
  if [ -z "$line" ]; then
    grep -q "/$m.ko\|/$n.ko" "$mdir/modules.builtin" && continue
    echo "build-guest: no module $m in $kver" >&2; exit 1
  fi
  for f in $line; do
    f=${f%:}
    mkdir -p "$rd/lib/modules/$kver/$(dirname "$f")"
    case "$f" in
      # Uncompressed: busybox's modprobe would first hand a .ko.xz to finit_module,
      # and the kernel logs "Invalid ELF header magic" on the console for each.
      *.xz) xz -dc "$mdir/$f" > "$rd/lib/modules/$kver/${f%.xz}" ;;
      *) cp "$mdir/$f" "$rd/lib/modules/$kver/$f" ;;
    esac
  done
done
/bin/busybox depmod -b "$rd" "$kver"

# qemu-ga, its shared libraries and the dynamic loader, where ld.so looks without a cache.
qga=$work/qga/usr/sbin/qemu-ga
cp "$qga" "$rd/sbin/qemu-ga"
mkdir -p "$rd/lib/x86_64-linux-gnu"
if ldd "$qga" | grep -q 'not found'; then
  echo "build-guest: qemu-ga needs libraries this host lacks:" >&2; ldd "$qga" | grep 'not found' >&2; exit 1
fi
ldd "$qga" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
  case "$lib" in
    */ld-linux*) cp -L "$lib" "$rd/lib64/$(basename "$lib")" ;;
    *) cp -L "$lib" "$rd/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
  esac
done
(cd "$rd" && find . | sort | cpio -o -H newc --quiet) | gzip -1 > "$out/initrd.img"
echo "$kver" > "$out/kernel-version"
echo "build-guest: $out/vmlinux and $out/vmlinuz ($kver), $out/initrd.img ($(du -h "$out/initrd.img" | cut -f1))"
