import { Lab } from '../lab/lab.js';
import { linkBytes } from '../lab/network.js';
import { vmAddress } from '../lab/plan.js';
import { ferryOnHost, labSerialLog, waitPingable } from '../test/helpers/lab-cli.js';
import { Ping } from '../test/helpers/ping.js';
import { LibvirtHost } from './libvirt-host.js';
import type { Topology } from './side-by-side-topology.js';

const MAC = '52:54:00:fe:0b:15';

/**
 * Both tools on the lab (lab/): two hosts in network namespaces, their migration and
 * management links shaped by tc to `rate`, each with its ferryd (the lab's) and a libvirtd in
 * its network namespace. The guest has a NIC on the VM bridge br1 and answers ping from the
 * switch, where a user of the VM network sits. QEMU's stream goes over the migration network.
 */
export async function labTopology(dir: string, rate: string): Promise<Topology> {
  const lab = await Lab.up({ hosts: 2, dir: `${dir}/lab`, prefix: 'fsbs', rate });
  const libvirt = Object.fromEntries(
    lab.plan.hosts.map((h) => [h.name, new LibvirtHost({ name: `lv-${h.name}`, dir: `${dir}/libvirt-${h.name}`, netns: h.ns })]),
  ) as Record<string, LibvirtHost>;
  const stopAll = async (): Promise<void> => {
    await Promise.all(Object.values(libvirt).map((l) => l.stop()));
    await lab.down();
  };
  try {
    await Promise.all(Object.values(libvirt).map((l) => l.start()));
  } catch (err) {
    await stopAll();
    throw err;
  }
  const ip = vmAddress(lab.plan, 0);
  const hostOf = (name: string): LibvirtHost => {
    const l = libvirt[name];
    if (!l) throw new Error(`the lab has no host ${name}`);
    return l;
  };
  return {
    label: `lab, ${rate} shaped link`,
    hosts: ['h1', 'h2'],
    sharedDir: lab.plan.sharedDir,
    ferry: (host, ...args) => ferryOnHost(lab, host, ...args),
    ferryPeerUri: (host) => lab.peerUri(lab.host(host)),
    ferrySerialLog: (host, name) => labSerialLog(lab, host, name),
    libvirt: hostOf,
    // libvirt's default first migration port: nothing else listens there inside a lab host.
    libvirtMigrateUri: (host) => `tcp://${lab.host(host).migrationAddress}:49152`,
    guest: {
      extraCmdline: `ferry.ip=${ip}/24`,
      devices: `<interface type='bridge'><mac address='${MAC}'/><source bridge='br1'/><model type='virtio'/></interface>`,
    },
    waitReachable: () => waitPingable(lab, ip, 'the guest'),
    ping: () => new Ping(lab.plan.switchNs, ip, 0.02).start(),
    wireBytes: (host) => linkBytes(lab.host(host).ns, 'eth1').tx,
    stop: stopAll,
  };
}
