#!/usr/bin/env bash
# The demo without root (scripts/demo.sh runs it when not root): two local hosts (two ferryd,
# each with its own state directory and socket, reaching each other through their sockets),
# a VM booted on the first, migrated live to the second and back with progress, with the
# total time and the downtime of each migration; the guest's heartbeat goes on throughout.
#
#   npm run demo            # sets everything up, runs the demo, cleans up
#   npm run demo -- --keep  # leaves both hosts and the VM running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash scripts/setup.sh

demo=${FERRY_DEMO_DIR:-/tmp/ferry-demo}
ferry="$root/bin/ferry"
A="ferry:///system?socket=$demo/a/ferryd.sock"
B="ferry:///system?socket=$demo/b/ferryd.sock"

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
# on HOST ferry ARGS...: shows the command as an operator on that host would type it, then runs it.
on() {
  local host=$1; shift; shift
  local uri=$A; [ "$host" = host-b ] && uri=$B
  printf '\033[2m[%s] # ferry %s\033[0m\n' "$host" "$*"
  "$ferry" -c "$uri" "$@"
}

cleanup() {
  [ "$keep" = 1 ] && return
  step "cleaning up"
  "$ferry" -c "$A" destroy demo-vm >/dev/null 2>&1 || true
  "$ferry" -c "$B" destroy demo-vm >/dev/null 2>&1 || true
  for h in a b; do [ -f "$demo/$h/ferryd.pid" ] && kill "$(cat "$demo/$h/ferryd.pid")" 2>/dev/null || true; done
  sleep 0.3
}
trap cleanup EXIT

# Earlier runs may have left daemons behind.
for h in a b; do [ -f "$demo/$h/ferryd.pid" ] && kill "$(cat "$demo/$h/ferryd.pid")" 2>/dev/null || true; done
pkill -f "qemu-system-x86_64.*$demo/" 2>/dev/null || true
sleep 0.3
rm -rf "$demo" && mkdir -p "$demo/a" "$demo/b"

step "starting two hosts on this machine: ferryd A and ferryd B"
for h in a b; do
  "$root/bin/ferryd" --state-dir "$demo/$h/state" --socket "$demo/$h/ferryd.sock" >"$demo/$h/ferryd.log" 2>&1 &
  echo $! > "$demo/$h/ferryd.pid"
done
for h in a b; do
  for _ in $(seq 100); do [ -S "$demo/$h/ferryd.sock" ] && break; sleep 0.05; done
done
on host-a ferry version
on host-a ferry nodeinfo

step "defining a VM on host A: Debian's kernel, a busybox initramfs and ferry-load dirtying 8 MiB/s"
guest=$(bash scripts/stage-guest.sh)   # where QEMU's unprivileged user can read the guest
cat > "$demo/demo-vm.xml" <<XML
<domain type='kvm'>
  <name>demo-vm</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ferry.touch=64 ferry.dirty=8 ferry.hb=500</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <serial type='pty'/>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <panic model='isa'/>
  </devices>
</domain>
XML
on host-a ferry define "$demo/demo-vm.xml"
on host-a ferry start demo-vm
on host-a ferry list --all
on host-b ferry list --all

step "waiting for the guest's workload to report on the serial console"
log="$demo/a/state/log/demo-vm-serial0.log"
for _ in $(seq 200); do grep -q 'ferry-load: hb' "$log" 2>/dev/null && break; sleep 0.1; done
sleep 1.5
tail -n 3 "$log"
on host-a ferry dominfo demo-vm

step "live migration A → B while the guest keeps dirtying memory"
on host-a ferry migrate --live --persistent --verbose demo-vm "$B"
on host-b ferry list
on host-b ferry domjobinfo demo-vm --completed
on host-a ferry list --all

step "and back B → A"
on host-b ferry migrate --live --persistent --undefinesource --verbose demo-vm "$A"
on host-a ferry list

step "the guest agent answers on A after the moves (this VM has no network: its host name and OS)"
for _ in $(seq 150); do "$ferry" -c "$A" qemu-agent-command demo-vm '{"execute":"guest-ping"}' >/dev/null 2>&1 && break; sleep 0.2; done
on host-a ferry guestinfo demo-vm --hostname --os

step "the guest's heartbeat went on across both migrations (the last lines of its console, on A)"
sleep 1
tail -n 3 "$log"
if grep -q 'ferry-load: CORRUPT\|Kernel panic' "$demo"/*/state/log/demo-vm-serial0.log; then
  echo "demo: the guest reported memory corruption" >&2
  exit 1
fi

if [ "$keep" = 1 ]; then
  step "left running: bin/ferry -c '$A' list --all (host B: '$B'); to stop: bin/ferry -c '$A' destroy demo-vm; kill \$(cat $demo/a/ferryd.pid $demo/b/ferryd.pid)"
fi
