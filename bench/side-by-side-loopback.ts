import { TwoHosts, freePort } from '../test/helpers/two-hosts.js';
import { LibvirtHost } from './libvirt-host.js';
import type { Topology } from './side-by-side-topology.js';

/**
 * Both tools on this machine's loopback: two ferryd (TwoHosts) and two libvirtd
 * (LibvirtHost, each in its own mount and UTS namespace), QEMU's stream on 127.0.0.1. Without
 * `withLibvirt` only the two ferryd start.
 */
export async function loopbackTopology(withLibvirt = true): Promise<Topology> {
  const ferry = await new TwoHosts().start();
  const dir = ferry.dir.path;
  const libvirt = { a: new LibvirtHost({ name: 'lv-a', dir: `${dir}/libvirt-a` }), b: new LibvirtHost({ name: 'lv-b', dir: `${dir}/libvirt-b` }) };
  const ports = { a: await freePort(), b: await freePort() };
  try {
    // --tool ferry alone: no libvirtd (it need not be installed).
    if (withLibvirt) await Promise.all([libvirt.a.start(), libvirt.b.start()]);
  } catch (err) {
    await Promise.all([libvirt.a.stop(), libvirt.b.stop()]);
    await ferry.stop();
    throw err;
  }
  const pick = <T>(host: string, v: { a: T; b: T }): T => (host === 'a' ? v.a : v.b);
  return {
    label: 'loopback',
    hosts: ['a', 'b'],
    sharedDir: dir,
    ferry: (host, ...args) => pick(host, { a: ferry.a, b: ferry.b }).ferry(...args),
    ferryPeerUri: (host) => pick(host, { a: ferry.aPeer, b: ferry.bPeer }),
    ferrySerialLog: (host, name) => pick(host, { a: ferry.a, b: ferry.b }).serialLog(name),
    libvirt: (host) => pick(host, libvirt),
    libvirtMigrateUri: (host) => `tcp://127.0.0.1:${pick(host, ports)}`,
    guest: {},
    waitReachable: () => Promise.resolve(),
    stop: async () => {
      if (withLibvirt) await Promise.all([libvirt.a.stop(), libvirt.b.stop()]);
      await ferry.stop();
    },
  };
}
