#!/usr/bin/env bash
# Builds (once) a clean Debian 12 root that boots under `systemd-nspawn -b`: debootstrap's minbase with
# systemd, systemd-sysv, dbus and systemd-container (systemd-machined, which ferryd registers its VMs with),
# and bookworm-backports in its apt sources (where the package's QEMU 10 comes from). Prints its path.
# The tests copy it before booting it, so the cached root stays clean.
#
#   bash scripts/systemd-root.sh            # .cache/systemd-root/bookworm (about 250 MB, 1-2 minutes)
#   bash scripts/systemd-root.sh qemu       # .cache/systemd-root/bookworm-qemu: the above with QEMU 10 from
#                                           # bookworm-backports and what ferry runs at its side (the systemd tests)
#
# The mirror is the first Debian one in this host's apt sources (deb.debian.org when none is found).
set -euo pipefail
cd "$(dirname "$0")/.."
variant=${1:-}
case "$variant" in
  '') ;;
  qemu) exec bash scripts/systemd-root-qemu.sh ;;
  *) echo "systemd-root: unknown variant '$variant' (known: qemu)" >&2; exit 2 ;;
esac
dest=$PWD/.cache/systemd-root/bookworm
mkdir -p "$(dirname "$dest")"
exec 9>"$dest.lock"
flock 9
if [ -x "$dest/lib/systemd/systemd" ]; then echo "$dest"; exit 0; fi

for p in debootstrap systemd-container; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
mirror=$(grep -rhoE 'https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -v security | head -1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
tmp=$(mktemp -d "$dest.tmp.XXXXXX")
chmod 755 "$tmp" # mktemp makes it 0700: the root directory of a system every user reads
trap 'rm -rf "$tmp"' EXIT
echo "systemd-root: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,systemd-container,ca-certificates bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1 \
  || { tail -20 "$tmp.log" >&2; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
echo "deb $mirror bookworm-backports main" > "$tmp/etc/apt/sources.list.d/bookworm-backports.list"
# A container boots to a login prompt on its console: nothing to log in to in a test.
rm -f "$tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
echo ferry-test > "$tmp/etc/hostname"
mv "$tmp" "$dest"
trap - EXIT
echo "$dest"
