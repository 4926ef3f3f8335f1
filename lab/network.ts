import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { LAB_BRIDGE, type LabHostPlan, type LabPlan } from './plan.js';
import { execIn, ipIn, run, tryRun } from './run.js';

/**
 * Creates the lab's namespaces, bridges and links (see plan.ts for the
 * picture). Leftovers of an earlier lab with the same prefix are removed first.
 */
export function buildNetwork(plan: LabPlan): void {
  teardownNetwork(plan);
  const sw = plan.switchNs;
  addNamespace(sw, plan);
  for (const [bridge, address] of [
    ['mgmt', plan.switchMgmtAddress],
    ['mignet', undefined],
    ['vmlan', plan.switchVmAddress],
  ] as const) {
    ipIn(sw, 'link', 'add', bridge, 'type', 'bridge');
    // No STP: ports forward at once, as on a simple access switch.
    ipIn(sw, 'link', 'set', bridge, 'type', 'bridge', 'stp_state', '0');
    if (address) ipIn(sw, 'addr', 'add', `${address}/${plan.prefixLength}`, 'dev', bridge);
    ipIn(sw, 'link', 'set', bridge, 'up');
  }
  for (const host of plan.hosts) buildHost(plan, host);
}

function buildHost(plan: LabPlan, host: LabHostPlan): void {
  const sw = plan.switchNs;
  addNamespace(host.ns, plan);
  const links: Array<[string, string, string]> = [
    [host.switchLinks.mgmt, 'eth0', 'mgmt'],
    [host.switchLinks.migration, 'eth1', 'mignet'],
    [host.switchLinks.vm, 'uplink', 'vmlan'],
  ];
  for (const [outer, inner, bridge] of links) {
    ipIn(sw, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', host.ns);
    ipIn(sw, 'link', 'set', outer, 'master', bridge);
    ipIn(sw, 'link', 'set', outer, 'up');
  }
  ipIn(host.ns, 'addr', 'add', `${host.mgmtAddress}/${plan.prefixLength}`, 'dev', 'eth0');
  ipIn(host.ns, 'addr', 'add', `${host.migrationAddress}/${plan.prefixLength}`, 'dev', 'eth1');
  ipIn(host.ns, 'link', 'set', 'eth0', 'up');
  ipIn(host.ns, 'link', 'set', 'eth1', 'up');
  // br1 carries VM traffic only: no address, the uplink to the switch is its one wired port.
  ipIn(host.ns, 'link', 'add', LAB_BRIDGE, 'type', 'bridge');
  ipIn(host.ns, 'link', 'set', LAB_BRIDGE, 'type', 'bridge', 'stp_state', '0');
  ipIn(host.ns, 'link', 'set', 'uplink', 'master', LAB_BRIDGE);
  ipIn(host.ns, 'link', 'set', 'uplink', 'up');
  ipIn(host.ns, 'link', 'set', LAB_BRIDGE, 'up');
  if (plan.rate) {
    shape(host.ns, 'eth0', plan.rate);
    shape(host.ns, 'eth1', plan.rate);
    shape(sw, host.switchLinks.mgmt, plan.rate);
    shape(sw, host.switchLinks.migration, plan.rate);
  }
}

/** A token bucket on a link's egress: with both ends shaped, each direction is held to `rate`. */
function shape(ns: string, dev: string, rate: string): void {
  run('tc', ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '512kb', 'latency', '50ms']);
}

/** A namespace with loopback up and its own resolv.conf and hosts (ip netns exec mounts /etc/netns/NS/*). */
function addNamespace(ns: string, plan: LabPlan): void {
  run('ip', ['netns', 'add', ns]);
  ipIn(ns, 'link', 'set', 'lo', 'up');
  const etc = `/etc/netns/${ns}`;
  mkdirSync(etc, { recursive: true });
  writeFileSync(`${etc}/resolv.conf`, `# ferry lab ${plan.prefix}: the switch's DNS server\nnameserver ${plan.switchMgmtAddress}\n`);
  writeFileSync(`${etc}/hosts`, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
}

/** Kills every process in the lab's namespaces, then removes them (their links go with them). */
export function teardownNetwork(plan: LabPlan): void {
  const namespaces = [...plan.hosts.map((h) => h.ns), plan.switchNs];
  for (const ns of existingNamespaces(plan.prefix)) if (!namespaces.includes(ns)) namespaces.push(ns);
  for (const ns of namespaces) killNamespaceProcesses(ns);
  for (const ns of namespaces) {
    tryRun('ip', ['netns', 'del', ns]);
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}

/** The namespaces of labs with this prefix (an earlier lab may have had more hosts). */
export function existingNamespaces(prefix: string): string[] {
  let out = '';
  try {
    out = run('ip', ['netns', 'list']);
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n === `${prefix}-sw` || new RegExp(`^${prefix}-h\\d$`).test(n));
}

function killNamespaceProcesses(ns: string): void {
  let pids: string[] = [];
  try {
    pids = run('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A link's byte counters inside a namespace. */
export function linkBytes(ns: string, dev: string): { rx: number; tx: number } {
  const read = (what: string): number => Number(execIn(ns, 'cat', `/sys/class/net/${dev}/statistics/${what}_bytes`).trim());
  return { rx: read('rx'), tx: read('tx') };
}
