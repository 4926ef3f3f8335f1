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
virsh --version
