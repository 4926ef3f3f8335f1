#!/bin/bash
# Installs what bench/libvirt-side-by-side.ts needs besides ferry: Debian's libvirt from
# bookworm-backports (11.3, which knows our QEMU 10.0). Not part of CI or `npm test`.
# The bench runs each libvirtd itself (no systemd), in its own namespaces: the packages'
# systemd units are not used.
set -euo pipefail
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports --no-install-recommends \
  libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon
# Disable the packages' units: the bench starts libvirtd itself, and bookworm's systemd 252 cannot parse
# libvirtd.service (Type=notify-reload): enabled, it is pulled into every `systemd-analyze verify`
# (scripts/verify-units.sh, a unit test) and fails it.
systemctl disable libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
  virtlogd.service virtlogd.socket virtlogd-admin.socket libvirt-guests.service 2>/dev/null || true
virsh --version
