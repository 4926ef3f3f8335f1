#!/usr/bin/env bash
# The lab: N hosts as network namespaces that look like the seed's (a management and a
# migration network, a VM bridge br1 joined through a switch, DNS, sshd, a cluster CA and
# ferryd with mutual TLS on each host). Needs root and a build (npm run build).
#
#   scripts/lab.sh up [--hosts 2] [--rate 1gbit] [--dir /tmp/ferry-lab]
#   scripts/lab.sh on h1 ferry list --all
#   scripts/lab.sh on h1 ferry migrate --live --verbose --persistent VM qemu+ssh://h2/system
#   scripts/lab.sh switch ping 10.231.3.100
#   scripts/lab.sh down
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "lab: network namespaces need root" >&2; exit 1; }
exec node dist/lab/main.js "$@"
