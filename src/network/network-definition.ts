/**
 * A virtual network: the subset of libvirt's network XML that migration hosts
 * need. Either a name for a bridge the host already has (`<forward
 * mode='bridge'/>`), so each host can call its bridge differently while the
 * domain XML keeps saying network='NAME', or an isolated network (no
 * <forward>) whose bridge ferry creates at net-start and deletes at net-destroy.
 */
export interface NetworkDefinition {
  name: string;
  uuid: string;
  /** 'bridge': <forward mode='bridge'/> onto a host bridge; 'isolated': no <forward>, ferry's own bridge. */
  forward: NetworkForward;
  bridge: NetworkBridge;
  /** <mtu size=...>: the MTU of the bridge ferry creates (isolated only). */
  mtu?: number;
  /** <mac address=...>: the MAC address of the bridge ferry creates (isolated only). */
  mac?: string;
  /** <ip>: addresses put on the bridge ferry creates (isolated only). */
  ips: NetworkIp[];
}

export type NetworkForward = 'bridge' | 'isolated';

export interface NetworkBridge {
  /** The host bridge's name (forward bridge) or the bridge ferry creates (isolated). */
  name: string;
  /** Spanning tree on the bridge ferry creates; libvirt's default for isolated networks is on. */
  stp?: boolean;
  /** Forward delay in seconds; libvirt's default is 0. */
  delay?: number;
}

export interface NetworkIp {
  family: 'ipv4' | 'ipv6';
  address: string;
  /** As written: netmask='255.255.255.0' (IPv4) or prefix='24'. */
  netmask?: string;
  prefix?: number;
}

/** libvirt's template for the bridges of isolated networks that name none. */
export const DEFAULT_BRIDGE_TEMPLATE = 'virbr%d';

/** The prefix length an <ip> element means, from its prefix= or netmask=. */
export function ipPrefix(ip: NetworkIp): number {
  if (ip.prefix !== undefined) return ip.prefix;
  const bits = (ip.netmask ?? '')
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  return bits.indexOf('0') === -1 ? bits.length : bits.indexOf('0');
}

/** The bridge ferry creates for an isolated network: what `ip link add` and `ip addr add` need. */
export interface BridgeSpec {
  name: string;
  stp: boolean;
  /** Forward delay in seconds. */
  delay: number;
  mtu?: number;
  mac?: string;
  /** Addresses in CIDR form (10.0.0.1/24). */
  addresses: string[];
}

export function bridgeSpec(def: NetworkDefinition): BridgeSpec {
  return {
    name: def.bridge.name,
    stp: def.bridge.stp ?? true,
    delay: def.bridge.delay ?? 0,
    ...(def.mtu !== undefined ? { mtu: def.mtu } : {}),
    ...(def.mac !== undefined ? { mac: def.mac } : {}),
    addresses: def.ips.map((ip) => `${ip.address}/${ipPrefix(ip)}`),
  };
}
