import { type DomainDefinition, hasHostDevice, type InterfaceDefinition } from '../definition.js';
import type { DefineProblem } from '../schema/element-rule.js';

/** Queues a virtio-net multiqueue NIC may have: QEMU's limit is 1024 queue pairs; a tap's is 256. */
export const MAX_NIC_QUEUES = 256;

/**
 * What an interface asks for that its type or model cannot do, named per
 * interface, each with its reason (libvirt refuses the same combinations).
 */
export function interfaceProblems(def: DomainDefinition): DefineProblem[] {
  const out: DefineProblem[] = [];
  def.devices.interfaces.forEach((iface, i) => {
    const device = `<interface type='${iface.type}'> #${i}`;
    const at = (rest: string): string => `/domain/devices/interface[${i + 1}]${rest}`;
    const push = (path: string, message: string): void => void out.push({ path: at(path), device, message });
    const tapBacked = hasHostDevice(iface);
    const d = iface.driver;
    // vhost-net serves a tap's or macvtap's queues to virtio-net: the kernel needs both.
    if (d?.name === 'vhost' && iface.model !== 'virtio')
      push(
        '/driver/@name',
        `<driver name='vhost'> (the kernel's vhost-net) serves virtio NICs only; model '${iface.model}' is emulated by QEMU: leave name out`,
      );
    else if (d?.name === 'vhost' && !tapBacked)
      push(
        '/driver/@name',
        `<driver name='vhost'> (the kernel's vhost-net) serves a tap's queues; type='${iface.type}' has no tap (its network runs inside QEMU): use name='qemu' or leave name out`,
      );
    if (iface.backend?.vhost !== undefined && d?.name !== 'vhost')
      push('/backend/@vhost', "<backend vhost> is the device ferryd opens for <driver name='vhost'>; without that, no vhost-net device is opened");
    if (iface.backend?.tap !== undefined && !(['bridge', 'network', 'ethernet'] as string[]).includes(iface.type))
      push('/backend/@tap', `<backend tap> is the clone device a tap is opened through (/dev/net/tun); type='${iface.type}' has no such tap`);
    if (
      d &&
      iface.model !== 'virtio' &&
      (d.queues !== undefined ||
        d.txmode ||
        d.rxQueueSize ||
        d.txQueueSize ||
        d.host ||
        d.guest ||
        d.virtio ||
        d.ioeventfd !== undefined ||
        d.eventIdx !== undefined ||
        d.rss !== undefined ||
        d.rssHashReport !== undefined)
    ) {
      push(
        '/driver',
        `<driver> queues, txmode, queue sizes, ioeventfd, event_idx, rss, offloads and virtio options are virtio-net settings; model '${iface.model}' has none`,
      );
    }
    if (d?.queues !== undefined && d.queues > 1 && !tapBacked)
      push(
        '/driver/@queues',
        `<driver queues> above 1 (multiqueue) needs a tap (type='bridge', 'network', 'ethernet' or 'direct'); type='${iface.type}' has one queue`,
      );
    if (d?.queues !== undefined && d.queues > MAX_NIC_QUEUES) push('/driver/@queues', `<driver queues='${d.queues}'>: at most ${MAX_NIC_QUEUES} queues`);
    if (iface.mtu !== undefined && !tapBacked) push('/mtu', `<mtu> sets the tap's MTU; type='${iface.type}' has no tap`);
    if (iface.mtu !== undefined && (iface.mtu < 68 || iface.mtu > 65535)) push('/mtu/@size', `<mtu size='${iface.mtu}'> is outside 68..65535`);
    if (iface.bandwidth && !tapBacked) push('/bandwidth', `<bandwidth> is shaped with tc on the tap; type='${iface.type}' has no tap`);
    // libvirt's qemuValidateNetSupportsCoalesce: the tap of a bridge or network (ferryd sets its rx-frames with ethtool).
    if (iface.coalesceRxFrames !== undefined && iface.type !== 'bridge' && iface.type !== 'network')
      push('/coalesce', `coalesce settings on interface type ${iface.type} are not supported`);
    if (iface.model === 'usb-net' && iface.rom) push('/rom', '<rom> is a PCI option ROM; a usb-net NIC has none');
    if (iface.userNet && iface.type !== 'user')
      push('/ip', `<ip> on an interface is the network of type='user' (QEMU's user-mode stack); type='${iface.type}' takes its addresses from its network`);
    if (iface.userNet && iface.userNet.filter((n) => n.family === 'ipv4').length > 1) push('/ip', 'only one IPv4 <ip> is allowed on a user-mode interface');
    if (iface.userNet && iface.userNet.filter((n) => n.family === 'ipv6').length > 1) push('/ip', 'only one IPv6 <ip> is allowed on a user-mode interface');
    if (iface.sndbuf !== undefined && !tapBacked) push('/tune/sndbuf', `<tune><sndbuf> is the tap's send buffer; type='${iface.type}' has no tap`);
    if (iface.portIsolated !== undefined && iface.type !== 'bridge' && iface.type !== 'network')
      push('/port', `<port isolated> is a setting of the tap's bridge port; type='${iface.type}' is on no bridge`);
    if ((iface.script !== undefined || iface.downscript !== undefined) && iface.type !== 'ethernet')
      push('/script', "<script> and <downscript> belong to type='ethernet'");
    if (iface.targetManaged === false && iface.type !== 'ethernet')
      push('/target/@managed', "<target managed='no'> (a tap made beforehand) is for type='ethernet'");
    if (iface.targetManaged === false && (iface.source.hostIps || iface.source.hostRoutes))
      push('/source', "a tap made beforehand (<target managed='no'>) keeps the host-side addresses it has: <source><ip>/<route> are for a tap ferry makes");
    if (iface.targetManaged === false && iface.script !== undefined)
      push('/script', "a tap made beforehand (<target managed='no'>) is not set up by a <script>");
    if (iface.type === 'direct' && iface.targetDev !== undefined && !isLiveDirectName(iface)) {
      push('/target/@dev', "<target dev> is refused: ferryd names the macvtap of type='direct' itself");
    }
  });
  return out;
}

/** A live definition's macvtap name (ferryd's own fe…n<i>) comes back in dumpxml; any other name is the user's. */
function isLiveDirectName(iface: InterfaceDefinition): boolean {
  return /^fe[0-9a-f]{10}n\d+$/.test(iface.targetDev ?? '');
}
