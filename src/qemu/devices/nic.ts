import { virtioOptionProps } from '../../vm/devices/virtio-options.js';
import { hasHostDevice, type InterfaceDefinition, type NicDriver, type NicSocket } from '../../vm/definition.js';
import { escapeOpt, pciProps, usbProps } from './device-props.js';

const NIC_DEVICE: Record<InterfaceDefinition['model'], string> = {
  virtio: 'virtio-net-pci',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
  vmxnet3: 'vmxnet3',
  'usb-net': 'usb-net',
};

/** libvirt's <host>/<guest> offload names → virtio-net-pci's properties. */
const HOST_PROP: Record<keyof NonNullable<NicDriver['host']>, string> = {
  csum: 'csum',
  gso: 'gso',
  tso4: 'host_tso4',
  tso6: 'host_tso6',
  ecn: 'host_ecn',
  ufo: 'host_ufo',
  mrg_rxbuf: 'mrg_rxbuf',
};
const GUEST_PROP: Record<keyof NonNullable<NicDriver['guest']>, string> = {
  csum: 'guest_csum',
  tso4: 'guest_tso4',
  tso6: 'guest_tso6',
  ecn: 'guest_ecn',
  ufo: 'guest_ufo',
};

export interface NicArgsInput {
  iface: InterfaceDefinition;
  index: number;
  /** The tap's descriptors as QEMU sees them: one per queue (bridge, network, ethernet, direct). */
  tapFds: readonly number[] | undefined;
  /** <driver name='vhost'>: vhost-net's descriptors as QEMU sees them, one per queue like tapFds. */
  vhostFds?: readonly number[] | undefined;
  bootindex: number | undefined;
  q35: boolean;
}

/**
 * -netdev and -device of one interface, as libvirt builds them: the tap as
 * descriptors ferryd opened (fds=a:b:c for multiqueue, with mq=on and
 * 2N+2 MSI-X vectors; vhost-net's likewise), virtio-net's <driver> settings
 * and host_mtu.
 */
export function nicArgs({ iface, index, tapFds, vhostFds, bootindex, q35 }: NicArgsInput): string[] {
  const id = `hostnet${index}`;
  let netdev: string;
  if (iface.type === 'user') netdev = `user,${userNetOptions(iface)}id=${id}`;
  else if (!hasHostDevice(iface)) netdev = socketNetdev(iface, id);
  else {
    if (!tapFds || tapFds.length === 0) throw new TypeError(`interface ${index} (${iface.type}) has no tap device`);
    netdev = tapFds.length === 1 ? `tap,id=${id},fd=${tapFds[0]}` : `tap,id=${id},fds=${tapFds.join(':')}`;
    if (iface.driver?.name === 'vhost') {
      if (!vhostFds || vhostFds.length !== tapFds.length)
        throw new TypeError(`interface ${index} asks for vhost-net and has ${vhostFds?.length ?? 0} of its ${tapFds.length} descriptors`);
      netdev += vhostFds.length === 1 ? `,vhost=on,vhostfd=${vhostFds[0]}` : `,vhost=on,vhostfds=${vhostFds.join(':')}`;
    }
    if (iface.sndbuf !== undefined) netdev += `,sndbuf=${iface.sndbuf}`;
  }
  const props = [NIC_DEVICE[iface.model]];
  if (iface.model === 'virtio') props.push(...virtioOptionProps(iface.driver?.virtio), ...virtioNetProps(iface, tapFds?.length ?? 1));
  props.push(`netdev=${id}`, `id=${iface.alias ?? `net${index}`}`, `mac=${iface.mac}`);
  if (bootindex !== undefined) props.push(`bootindex=${bootindex}`);
  props.push(...(iface.model === 'usb-net' ? usbProps(iface.address) : pciProps(iface.address, q35, iface.acpiIndex)));
  // The option ROM, after the address as libvirt writes it: enabled='no' is an empty romfile (no ROM).
  const rom = iface.rom;
  if (rom?.enabled === false) props.push('romfile=');
  else {
    if (rom?.bar !== undefined) props.push(`rombar=${rom.bar ? 1 : 0}`);
    if (rom?.file !== undefined) props.push(`romfile=${escapeOpt(rom.file)}`);
  }
  return ['-netdev', netdev, '-device', props.join(',')];
}

/**
 * QEMU's socket netdev, as libvirt 11 writes it: server listens on
 * address:port (every address when none is given), client connects there,
 * mcast joins the group, udp sends to the peer from its <local> address.
 */
function socketNetdev(iface: InterfaceDefinition, id: string): string {
  const s = iface.source.socket as NicSocket;
  const at = (address: string | undefined, port: number): string => `${address ?? ''}:${port}`;
  const key = { server: 'listen', client: 'connect', mcast: 'mcast', udp: 'udp' }[iface.type as 'server' | 'client' | 'mcast' | 'udp'];
  const local = s.local === undefined ? '' : `,localaddr=${at(s.local.address, s.local.port)}`;
  return `socket,id=${id},${key}=${at(s.address, s.port)}${local}`;
}

/** QEMU user networking's net= and ipv6-prefix= from <ip> (libvirt's order), each followed by a comma. */
function userNetOptions(iface: InterfaceDefinition): string {
  return (iface.userNet ?? [])
    .map((n) =>
      n.family === 'ipv4'
        ? `net=${n.address}${n.prefix === undefined ? '' : `/${n.prefix}`},`
        : `ipv6-prefix=${n.address},${n.prefix === undefined ? '' : `ipv6-prefixlen=${n.prefix},`}`,
    )
    .join('');
}

function virtioNetProps(iface: InterfaceDefinition, queues: number): string[] {
  const d = iface.driver;
  const props: string[] = [];
  if (queues > 1) props.push('mq=on', `vectors=${2 * queues + 2}`);
  if (d?.txmode) props.push(`tx=${d.txmode === 'iothread' ? 'bh' : 'timer'}`);
  if (d?.ioeventfd !== undefined) props.push(`ioeventfd=${d.ioeventfd ? 'on' : 'off'}`);
  if (d?.eventIdx !== undefined) props.push(`event_idx=${d.eventIdx ? 'on' : 'off'}`);
  if (d?.rss !== undefined) props.push(`rss=${d.rss ? 'on' : 'off'}`);
  if (d?.rssHashReport !== undefined) props.push(`hash=${d.rssHashReport ? 'on' : 'off'}`);
  if (d?.rxQueueSize !== undefined) props.push(`rx_queue_size=${d.rxQueueSize}`);
  if (d?.txQueueSize !== undefined) props.push(`tx_queue_size=${d.txQueueSize}`);
  for (const [k, v] of Object.entries(d?.host ?? {})) props.push(`${HOST_PROP[k as keyof typeof HOST_PROP]}=${v ? 'on' : 'off'}`);
  for (const [k, v] of Object.entries(d?.guest ?? {})) props.push(`${GUEST_PROP[k as keyof typeof GUEST_PROP]}=${v ? 'on' : 'off'}`);
  if (iface.mtu !== undefined) props.push(`host_mtu=${iface.mtu}`);
  return props;
}

/** The vhost-net device a <driver name='vhost'> interface opens (its <backend vhost>, else the kernel's); undefined without vhost. */
export function vhostNetDevice(iface: InterfaceDefinition): string | undefined {
  return iface.driver?.name === 'vhost' ? (iface.backend?.vhost ?? '/dev/vhost-net') : undefined;
}

/** How many descriptors (queues) an interface's tap is opened with. */
export function nicQueues(iface: InterfaceDefinition): number {
  return iface.model === 'virtio' && hasHostDevice(iface) ? (iface.driver?.queues ?? 1) : 1;
}
