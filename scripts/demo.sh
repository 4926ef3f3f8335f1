#!/usr/bin/env bash
# The demo, on hosts that look like the seed's (scripts/lab.sh): two hosts h1 and h2 in network
# namespaces, each with a management network, a separate migration network and a VM bridge
# br1 joined through a switch; DNS, passwordless root ssh between them, a cluster CA and
# ferryd with mutual TLS on each. A VM with an address on br1 boots on h1 and is pinged from
# the switch while it moves live to h2 with the seed's own command line (qemu+ssh://), then
# back over ferry+tls:// with its memory encrypted (--tls). Progress, the completed job, the
# pings lost, the guest's heartbeat and the guest's addresses from its agent after each move are shown.
#
#   npm run demo            # sets everything up, runs the demo, cleans up
#   npm run demo -- --keep  # leaves the lab and the VM running (scripts/lab.sh down removes it)
#
# Without root (no network namespaces) it runs scripts/demo-local.sh: two ferryd on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then exec bash scripts/demo-local.sh "$@"; fi
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash scripts/setup.sh

dir=${FERRY_DEMO_DIR:-/tmp/ferry-demo}
lab() { local sub=$1; shift; bash scripts/lab.sh "$sub" --dir "$dir" "$@"; }
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
# on HOST ferry ARGS...: the command as an operator logged in on that host types it.
on() {
  local host=$1; shift
  printf '\033[2m[%s] # %s\033[0m\n' "$host" "$*"
  bash scripts/lab.sh on --dir "$dir" "$host" "$@"
}
# agent_up HOST: waits (up to 30 s) until the guest agent answers there: after a migration the guest
# reopens its end of the channel on the destination.
agent_up() {
  for _ in $(seq 150); do
    bash scripts/lab.sh on --dir "$dir" "$1" ferry qemu-agent-command demo-vm '{"execute":"guest-ping"}' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "demo: the guest agent did not answer on $1" >&2
  return 1
}

cleanup() {
  [ -n "${ping_pid:-}" ] && kill "$ping_pid" 2>/dev/null || true
  [ "$keep" = 1 ] && return
  step "cleaning up (the lab, its VMs and namespaces)"
  bash scripts/lab.sh down --dir "$dir" || true
}
trap cleanup EXIT

step "building the lab: two hosts, a switch, DNS, sshd, a cluster CA, ferryd with mutual TLS on each"
bash scripts/lab.sh down --dir "$dir" >/dev/null 2>&1 || true
bash scripts/lab.sh up --hosts 2 --dir "$dir" --prefix flab
on h1 ferry version
on h1 ferry nodeinfo

step "a VM on h1: Debian's kernel, a busybox initramfs, virtio-net on br1 as 10.231.3.100, ferry-load dirtying 8 MiB/s"
guest=$(bash scripts/stage-guest.sh)   # where QEMU's unprivileged user can read the guest
cat > "$dir/shared/demo-vm.xml" <<XML
<domain type='kvm'>
  <name>demo-vm</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ferry.touch=64 ferry.dirty=8 ferry.hb=500 ferry.ip=10.231.3.100/24</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <interface type='bridge'>
      <mac address='52:54:00:de:00:01'/>
      <source bridge='br1'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <panic model='isa'/>
  </devices>
</domain>
XML
on h1 ferry define "$dir/shared/demo-vm.xml"
on h1 ferry start demo-vm
log="$dir/h1/state/log/demo-vm-serial0.log"
for _ in $(seq 300); do grep -q 'ferry-load: hb' "$log" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do lab switch ping -c1 -W1 10.231.3.100 >/dev/null 2>&1 && break; sleep 0.2; done
tail -n 2 "$log"
on h1 ferry list --all

step "pinging the VM from the switch every 0.2 s, through both migrations"
# Straight into the switch's namespace, so that $! is ping itself and its SIGINT summary works
# (a background job of a script ignores SIGINT; ping installs its own handler).
ip netns exec flab-sw ping -i 0.2 10.231.3.100 > "$dir/ping.log" 2>&1 &
ping_pid=$!
sleep 1

step "the pre-flight checks, then the seed's own command line: live to h2 over ssh"
on h1 ferry migrate-check demo-vm qemu+ssh://h2/system
on h1 ferry migrate --live demo-vm qemu+ssh://h2/system --verbose --persistent
on h2 ferry list
on h2 ferry domjobinfo demo-vm --completed
agent_up h2
on h2 ferry domifaddr demo-vm --source agent

step "and back to h1 over mutual TLS, the memory itself encrypted (--tls)"
on h2 ferry migrate --live --verbose --persistent --undefinesource --tls demo-vm ferry+tls://h1/system
on h1 ferry list --all

step "the guest agent, back on h1: the guest's own addresses"
agent_up h1
on h1 ferry domifaddr demo-vm --source agent

sleep 1
kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
ping_pid=
step "ping's own count across both migrations"
tail -n 2 "$dir/ping.log"

step "the guest's heartbeat went on (the last lines of its console, back on h1)"
sleep 1
tail -n 3 "$log"
if grep -q 'ferry-load: CORRUPT\|Kernel panic' "$dir"/h*/state/log/demo-vm-serial0.log; then
  echo "demo: the guest reported memory corruption" >&2
  exit 1
fi
if [ "$keep" = 1 ]; then
  step "left running; from this checkout (the last line removes it all):"
  # The lab prints the commands itself, each naming this lab's directory (a test runs them).
  lab status | sed -n '/^From this checkout/,$p' | tail -n +2
fi
