#!/usr/bin/env bash
# Installs what ferry needs on Debian 12 (run as root), then builds ferry and the test guest.
# Idempotent: packages already installed are not fetched again.
#
#   QEMU 10.0 and qemu-utils from bookworm-backports (bookworm's own 7.2 corrupts TCG guests
#   that write memory during a live migration), busybox-static, cpio and gcc for the test
#   guest, qemu-guest-agent (qemu-ga on the host for the agent client's tests; the guest's
#   own copy comes from its package), iproute2 for tap devices, etcd (the lock manager's etcd backend and its tests),
#   dnsmasq (a DNS server for the name-resolution checks' tests and the lab), openssl (the
#   cluster CA: ferry cert-*), openssh (the ssh transport and its tests), tcpdump and ping
#   (the lab's ping-through-migration test), GlusterFS from bookworm-backports (a real network
#   filesystem for the gluster pool's e2e test; bookworm's 10.3 does not run beside the
#   libglusterfs 11 that QEMU 10 brings); qemu-block-extra (QEMU's iSCSI, GlusterFS, curl (http/https/ftp), rbd and ssh block
#   drivers, named so it comes even where apt skips recommended packages); tgt (a userspace iSCSI
#   target) and lvm2, for the storage tests on real servers and loop devices; swtpm and swtpm-tools (the emulated
#   TPM of <tpm><backend type='emulator'>: swtpm and swtpm_setup); ovmf (UEFI firmware with its descriptors in
#   /usr/share/qemu/firmware, for <os firmware='efi'>: bookworm's own, as bookworm-backports has none; it works
#   with the backports QEMU 10); dbus-daemon (the private bus of a <graphics type='dbus'> display) and
#   systemd for busctl (its test reads the display off that bus); libnss3-tools (certutil: the NSS database of the
#   host-certificates smartcard test); debootstrap and systemd-container (a Debian 12 root booted with systemd
#   as PID 1 under systemd-nspawn: the package and systemd-unit tests, scripts/systemd-root.sh); the `ferry` group (who may use ferryd's socket);
#   the `ferry-qemu` user (QEMU runs as it);
#   then `npm ci`, `tsc` and scripts/build-guest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: ferry needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "       Install it from https://nodejs.org or NodeSource, then run this again." >&2
  exit 1
fi

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
for p in busybox-static cpio gcc libc6-dev qemu-guest-agent iproute2 xz-utils etcd-server etcd-client python3 dnsmasq-base openssl openssh-client openssh-server tcpdump iputils-ping tgt lvm2 swtpm swtpm-tools ovmf dbus-daemon systemd libnss3-tools debootstrap systemd-container man-db groff-base faketime; do have "$p" || need_pkgs+=("$p"); done
# From bookworm-backports, like QEMU (whose libglusterfs0 they must match).
bpo_pkgs=()
for p in glusterfs-server glusterfs-client; do have "$p" || bpo_pkgs+=("$p"); done
qemu_ok=0
if command -v qemu-system-x86_64 >/dev/null; then
  v=$(qemu-system-x86_64 -version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
  [ "${v:-0}" -ge 10 ] && have qemu-utils && have qemu-block-extra && qemu_ok=1
fi

if [ "${#need_pkgs[@]}" -gt 0 ] || [ "${#bpo_pkgs[@]}" -gt 0 ] || [ "$qemu_ok" = 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages (${need_pkgs[*]} ${bpo_pkgs[*]} ${qemu_ok/1/}); run as root to install them" >&2
    exit 1
  fi
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports to apt's sources"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list
  fi
  log "apt-get update"
  apt-get update -qq
  export DEBIAN_FRONTEND=noninteractive
  if [ "$qemu_ok" = 0 ]; then
    log "installing QEMU 10.0 from bookworm-backports"
    apt-get install -y -qq -t bookworm-backports qemu-system-x86 qemu-utils qemu-block-extra >/dev/null
  fi
  if [ "${#need_pkgs[@]}" -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  fi
  if [ "${#bpo_pkgs[@]}" -gt 0 ]; then
    log "installing ${bpo_pkgs[*]} from bookworm-backports"
    apt-get install -y -qq -t bookworm-backports "${bpo_pkgs[@]}" >/dev/null
  fi
fi

# The seed's libvirt group: members may use ferryd's read-write socket (unix_sock_group).
if [ "$(id -u)" = 0 ] && ! getent group ferry >/dev/null; then
  log "creating the ferry group (members may use ferryd's socket)"
  groupadd --system ferry
fi

# QEMU's own unprivileged user (ferryd.conf's user, as libvirt's libvirt-qemu); in kvm when
# that group exists, so /dev/kvm opens for it.
if [ "$(id -u)" = 0 ] && ! getent passwd ferry-qemu >/dev/null; then
  log "creating the ferry-qemu user (QEMU runs as it)"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ferry-qemu
fi
if [ "$(id -u)" = 0 ] && getent group kvm >/dev/null && ! id -nG ferry-qemu | grep -qw kvm; then
  usermod -aG kvm ferry-qemu
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
node -e "require('better-sqlite3')(':memory:').close()" 2>/dev/null || {
  log "rebuilding better-sqlite3 (its install script did not run)"
  npm rebuild better-sqlite3 --loglevel=error
}

log "building ferry (tsc)"
npx tsc -p tsconfig.json

if [ ! -f .cache/guest/initrd.img ] || [ ! -f .cache/guest/vmlinux ] || [ guest/ferry-load.c -nt .cache/guest/initrd.img ] || [ guest/init -nt .cache/guest/initrd.img ] || [ guest/ferry-devices -nt .cache/guest/initrd.img ] || [ guest/ferry-report -nt .cache/guest/initrd.img ] || [ guest/shutdown -nt .cache/guest/initrd.img ] || [ scripts/build-guest.sh -nt .cache/guest/initrd.img ]; then
  log "building the test guest (Debian kernel + busybox initramfs + ferry-load + qemu-ga)"
  bash scripts/build-guest.sh >/dev/null
fi
log "ready: $(qemu-system-x86_64 -version | head -1)"
