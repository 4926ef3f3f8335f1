import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import { DEFAULT_NIC_MODEL, type InterfaceDefinition, MACVTAP_MODES, NIC_MODELS, NIC_TYPES, type NicSocket, SOCKET_NIC_TYPES } from '../definition.js';
import { normalizeMac } from '../identifiers.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { nonNegativeInt, oneOf, positiveInt, yesNo } from '../xml-values.js';
import { BANDWIDTH_RULE, NIC_DRIVER_RULE, parseBandwidth, parseNicDriver, renderBandwidth, renderNicDriver } from './nic-options.js';
import { ACPI_RULE, ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

export const INTERFACE_RULE: ElementRule = {
  attrs: { type: NIC_TYPES },
  label: (e, i) => `<interface type='${e.attrs.type ?? '?'}'> #${i}`,
  children: {
    mac: { attrs: { address: true } },
    source: {
      attrs: { bridge: true, network: true, dev: true, mode: MACVTAP_MODES, address: true, port: true },
      children: {
        local: { attrs: { address: true, port: true } },
        ip: { attrs: { address: true, family: ['ipv4', 'ipv6'], prefix: true, peer: true } },
        route: { attrs: { family: ['ipv4', 'ipv6'], address: true, prefix: true, gateway: true, metric: true } },
      },
    },
    model: { attrs: { type: NIC_MODELS } },
    target: { attrs: { dev: true, managed: ['yes', 'no'] } },
    script: { attrs: { path: true } },
    downscript: { attrs: { path: true } },
    driver: NIC_DRIVER_RULE,
    mtu: { attrs: { size: true } },
    ip: { attrs: { address: true, family: ['ipv4', 'ipv6'], prefix: true } },
    tune: { children: { sndbuf: {} } },
    backend: { attrs: { tap: true, vhost: true } },
    port: { attrs: { isolated: ['yes', 'no'] } },
    link: { attrs: { state: ['up', 'down'] } },
    bandwidth: BANDWIDTH_RULE,
    coalesce: { children: { rx: { children: { frames: { attrs: { max: true } } } } } },
    boot: { attrs: { order: true } },
    rom: { attrs: { bar: ['on', 'off'], file: true, enabled: ['yes', 'no'] } },
    alias: ALIAS_RULE,
    acpi: ACPI_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseInterface(iface: XmlElement): InterfaceDefinition {
  const type = iface.attrs.type;
  if (type === undefined) throw xmlInvalid('interface', 'missing type attribute');
  if (!(NIC_TYPES as readonly string[]).includes(type)) throw xmlUnsupported(`interface type='${type}'`);
  // libvirt's default model for x86 QEMU (qemuDomainDefaultNetModel), written into the definition as libvirt does.
  const result: InterfaceDefinition = { type: type as InterfaceDefinition['type'], mac: '', model: DEFAULT_NIC_MODEL, source: {} };
  for (const c of iface.children) {
    switch (c.name) {
      case 'mac': {
        const mac = normalizeMac(c.attrs.address ?? '');
        if (!mac) throw xmlInvalid('mac', `unable to parse mac address '${c.attrs.address ?? ''}'`);
        result.mac = mac;
        break;
      }
      case 'source':
        result.source = parseSource(result.type, c);
        break;
      case 'model':
        result.model = oneOf(c.attrs.type ?? '', NIC_MODELS, 'model', 'type');
        break;
      case 'target':
        if (c.attrs.dev) result.targetDev = c.attrs.dev;
        if (c.attrs.managed !== undefined) result.targetManaged = yesNo(c.attrs.managed, 'target', 'managed') as boolean;
        break;
      case 'script':
      case 'downscript':
        if (!c.attrs.path) throw xmlInvalid(c.name, `<${c.name}> needs path=`);
        result[c.name] = c.attrs.path;
        break;
      case 'driver':
        result.driver = parseNicDriver(c);
        break;
      case 'mtu':
        result.mtu = positiveInt(c.attrs.size ?? '', 'mtu');
        break;
      case 'ip':
        (result.userNet ??= []).push(parseUserNet(c));
        break;
      case 'tune': {
        const sndbuf = child(c, 'sndbuf');
        if (sndbuf) result.sndbuf = nonNegativeInt(sndbuf.text, 'sndbuf');
        break;
      }
      case 'backend':
        result.backend = parseNicBackend(c);
        break;
      case 'port':
        if (c.attrs.isolated !== undefined) result.portIsolated = c.attrs.isolated === 'yes';
        break;
      case 'link':
        if (c.attrs.state === 'up' || c.attrs.state === 'down') result.linkState = c.attrs.state;
        break;
      case 'bandwidth':
        result.bandwidth = parseBandwidth(c);
        break;
      case 'coalesce': {
        // libvirt's virDomainNetDefCoalesceParseXML: only rx frames; a <coalesce> without them sets nothing.
        const rx = child(c, 'rx');
        const max = rx && child(rx, 'frames')?.attrs.max;
        if (max !== undefined) result.coalesceRxFrames = nonNegativeInt(max, 'frames');
        if ((result.coalesceRxFrames ?? 0) > 0xffffffff) throw xmlInvalid('frames', `<frames max='${max}'> is above 4294967295`);
        break;
      }
      case 'boot':
        result.bootOrder = positiveInt(c.attrs.order ?? '', 'boot');
        break;
      case 'rom':
        result.rom = parseRom(c);
        break;
      default:
        break; // address, alias, acpi: parsePlacement; anything else: unsupportedParts() names it
    }
  }
  Object.assign(result, parsePlacement(iface, '<interface>'));
  if (type === 'bridge' && !result.source.bridge) throw xmlInvalid('interface', "type='bridge' needs <source bridge=...>");
  if (type === 'network' && !result.source.network) throw xmlInvalid('interface', "type='network' needs <source network=...>");
  if ((SOCKET_NIC_TYPES as readonly string[]).includes(type) && !result.source.socket)
    throw xmlInvalid('interface', `type='${type}' needs <source address= port=>`);
  if (type === 'direct' && !result.source.dev) throw xmlInvalid('interface', "type='direct' needs <source dev=...> (the host interface)");
  if (result.targetManaged === false && !result.targetDev) throw xmlInvalid('target', "managed='no' needs dev= (the existing tap)");
  return result;
}

/** <backend tap= vhost=/>: absolute paths of character devices. */
function parseNicBackend(c: XmlElement): NonNullable<InterfaceDefinition['backend']> {
  const backend: NonNullable<InterfaceDefinition['backend']> = {};
  for (const key of ['tap', 'vhost'] as const) {
    const path = c.attrs[key];
    if (path === undefined) continue;
    if (!path.startsWith('/')) throw xmlInvalid('backend', `<backend ${key}='${path}'> must be an absolute path`);
    backend[key] = path;
  }
  return backend;
}

/** <rom>: libvirt refuses bar= or file= with enabled='no' (there is no ROM to place). */
function parseRom(c: XmlElement): NonNullable<InterfaceDefinition['rom']> {
  const rom: NonNullable<InterfaceDefinition['rom']> = {};
  const bar = yesNo(c.attrs.bar, 'rom', 'bar');
  if (bar !== undefined) rom.bar = bar;
  if (c.attrs.file !== undefined) rom.file = c.attrs.file;
  const enabled = yesNo(c.attrs.enabled, 'rom', 'enabled');
  if (enabled !== undefined) rom.enabled = enabled;
  if (enabled === false && (bar !== undefined || rom.file !== undefined))
    throw xmlInvalid('rom', "ROM tuning is not supported when ROM is disabled: <rom enabled='no'> takes no bar= or file=");
  return rom;
}

function parseSource(type: InterfaceDefinition['type'], c: XmlElement): InterfaceDefinition['source'] {
  const socketParts = c.attrs.address !== undefined || c.attrs.port !== undefined || c.children.some((x) => x.name === 'local');
  if (socketParts && !(SOCKET_NIC_TYPES as readonly string[]).includes(type)) {
    throw xmlInvalid(
      'source',
      `<source address= port=> and <local> belong to interface type ${SOCKET_NIC_TYPES.map((t) => `'${t}'`).join(', ')}, not '${type}'`,
    );
  }
  switch (type) {
    case 'bridge':
      if (!c.attrs.bridge) throw xmlInvalid('source', "interface type='bridge' needs bridge=");
      return { bridge: c.attrs.bridge };
    case 'network':
      if (!c.attrs.network) throw xmlInvalid('source', "interface type='network' needs network=");
      // bridge= is the live XML's record of the bridge the network gave this host (libvirt shows it too).
      return { network: c.attrs.network, ...(c.attrs.bridge ? { bridge: c.attrs.bridge } : {}) };
    case 'direct':
      if (!c.attrs.dev) throw xmlInvalid('source', "interface type='direct' needs dev=");
      // macvtap's mode: libvirt's default is 'vepa'.
      return { dev: c.attrs.dev, mode: oneOf(c.attrs.mode ?? 'vepa', MACVTAP_MODES, 'source', 'mode') };
    case 'server':
    case 'client':
    case 'mcast':
    case 'udp':
      return { socket: parseSocket(type, c) };
    case 'ethernet':
      return parseHostSide(c);
    default:
      if (c.children.some((x) => x.name === 'ip' || x.name === 'route'))
        throw xmlInvalid('source', `<ip> and <route> in <source> (the host side's addresses) are for type='ethernet', not '${type}'`);
      return {};
  }
}

/** type='ethernet' <source><ip address prefix peer/><route address prefix gateway metric/>: what ferryd sets on the tap's host side. */
function parseHostSide(c: XmlElement): InterfaceDefinition['source'] {
  const hostIps = c.children
    .filter((x) => x.name === 'ip')
    .map((ip) => {
      const address = ip.attrs.address;
      if (!address) throw xmlInvalid('ip', 'Missing required address attribute in network interface ip element');
      const family = ip.attrs.family ?? (address.includes(':') ? 'ipv6' : 'ipv4');
      const prefix = ip.attrs.prefix === undefined ? undefined : nonNegativeInt(ip.attrs.prefix, 'ip');
      if (prefix !== undefined && prefix > (family === 'ipv6' ? 128 : 32)) throw xmlInvalid('ip', `invalid prefix '${prefix}' for ${family}`);
      return { address, family: family as 'ipv4' | 'ipv6', ...(prefix === undefined ? {} : { prefix }), ...(ip.attrs.peer ? { peer: ip.attrs.peer } : {}) };
    });
  const hostRoutes = c.children
    .filter((x) => x.name === 'route')
    .map((r) => {
      if (!r.attrs.address || !r.attrs.gateway) throw xmlInvalid('route', 'a <route> needs address= and gateway=');
      const family = r.attrs.family ?? (r.attrs.address.includes(':') ? 'ipv6' : 'ipv4');
      return {
        family: family as 'ipv4' | 'ipv6',
        address: r.attrs.address,
        gateway: r.attrs.gateway,
        ...(r.attrs.prefix === undefined ? {} : { prefix: nonNegativeInt(r.attrs.prefix, 'route') }),
        ...(r.attrs.metric === undefined ? {} : { metric: nonNegativeInt(r.attrs.metric, 'route') }),
      };
    });
  return { ...(hostIps.length > 0 ? { hostIps } : {}), ...(hostRoutes.length > 0 ? { hostRoutes } : {}) };
}

/** <ip address= family= prefix=> of a type='user' interface: the network QEMU's user-mode stack hands out (net=, ipv6-prefix=). */
function parseUserNet(c: XmlElement): NonNullable<InterfaceDefinition['userNet']>[number] {
  const address = c.attrs.address;
  if (!address) throw xmlInvalid('ip', 'Missing required address attribute in network interface ip element');
  const family = c.attrs.family ?? (address.includes(':') ? 'ipv6' : 'ipv4');
  if (family !== 'ipv4' && family !== 'ipv6') throw xmlInvalid('ip', `unsupported family '${family}'`);
  if ((family === 'ipv6') !== address.includes(':')) throw xmlInvalid('ip', `address '${address}' is not an ${family} address`);
  const prefix = c.attrs.prefix === undefined ? undefined : nonNegativeInt(c.attrs.prefix, 'ip');
  if (prefix !== undefined && prefix > (family === 'ipv4' ? 32 : 128)) throw xmlInvalid('ip', `invalid prefix '${prefix}' for ${family}`);
  return { address, family, ...(prefix === undefined ? {} : { prefix }) };
}

/**
 * <source address= port=> of a socket interface, as libvirt requires it: a
 * port always, an address except for type='server' (which then listens on
 * every address), and for type='udp' a <local address= port=> to bind.
 */
function parseSocket(type: InterfaceDefinition['type'], c: XmlElement): NicSocket {
  const port = socketPort(c.attrs.port, 'source');
  if (c.attrs.address === undefined && type !== 'server') throw xmlInvalid('source', "No <source> 'address' attribute specified with socket interface");
  const socket: NicSocket = { ...(c.attrs.address === undefined ? {} : { address: c.attrs.address }), port };
  const local = c.children.find((x) => x.name === 'local');
  if (type === 'udp') {
    if (!local?.attrs.address) throw xmlInvalid('local', "No <local> 'address' attribute specified with UDP socket interface");
    socket.local = { address: local.attrs.address, port: socketPort(local.attrs.port, 'local') };
  } else if (local) {
    throw xmlInvalid('local', "<local> (the address to bind) belongs to interface type='udp'");
  }
  return socket;
}

function socketPort(value: string | undefined, element: string): number {
  if (value === undefined) throw xmlInvalid(element, `No <${element}> 'port' attribute specified with socket interface`);
  const port = positiveInt(value, element);
  if (port > 65535) throw xmlInvalid(element, `port '${value}' is outside 1..65535`);
  return port;
}

function renderSource(iface: InterfaceDefinition): XmlElement | undefined {
  switch (iface.type) {
    case 'bridge':
      return el('source', { bridge: iface.source.bridge });
    case 'network':
      return el('source', { network: iface.source.network, bridge: iface.source.bridge });
    case 'direct':
      return el('source', { dev: iface.source.dev, mode: iface.source.mode });
    case 'ethernet':
      return iface.source.hostIps || iface.source.hostRoutes
        ? el('source', {}, [
            ...(iface.source.hostIps ?? []).map((ip) => el('ip', { address: ip.address, family: ip.family, prefix: ip.prefix, peer: ip.peer })),
            ...(iface.source.hostRoutes ?? []).map((r) =>
              el('route', { family: r.family, address: r.address, prefix: r.prefix, gateway: r.gateway, metric: r.metric }),
            ),
          ])
        : undefined;
    case 'server':
    case 'client':
    case 'mcast':
    case 'udp': {
      const s = iface.source.socket;
      return el('source', { address: s?.address, port: s?.port }, [
        s?.local === undefined ? undefined : el('local', { address: s.local.address, port: s.local.port }),
      ]);
    }
    default:
      return undefined;
  }
}

export function renderInterface(iface: InterfaceDefinition, live = false): XmlElement {
  const managed = iface.targetManaged === undefined ? undefined : iface.targetManaged ? 'yes' : 'no';
  return el('interface', { type: iface.type }, [
    el('mac', { address: iface.mac }),
    renderSource(iface),
    ...(iface.userNet ?? []).map((n) => el('ip', { address: n.address, family: n.family, prefix: n.prefix })),
    iface.script === undefined ? undefined : el('script', { path: iface.script }),
    iface.downscript === undefined ? undefined : el('downscript', { path: iface.downscript }),
    iface.targetDev === undefined && managed === undefined ? undefined : el('target', { dev: iface.targetDev, managed }),
    el('model', { type: iface.model }),
    renderNicDriver(iface.driver),
    renderBandwidth(iface.bandwidth),
    iface.linkState === undefined ? undefined : el('link', { state: iface.linkState }),
    iface.backend === undefined ? undefined : el('backend', { tap: iface.backend.tap, vhost: iface.backend.vhost }),
    iface.sndbuf === undefined ? undefined : el('tune', {}, [el('sndbuf', {}, String(iface.sndbuf))]),
    iface.portIsolated === undefined ? undefined : el('port', { isolated: iface.portIsolated ? 'yes' : 'no' }),
    iface.mtu === undefined ? undefined : el('mtu', { size: iface.mtu }),
    iface.coalesceRxFrames === undefined ? undefined : el('coalesce', {}, [el('rx', {}, [el('frames', { max: iface.coalesceRxFrames })])]),
    iface.bootOrder === undefined ? undefined : el('boot', { order: iface.bootOrder }),
    iface.rom === undefined
      ? undefined
      : el('rom', {
          enabled: iface.rom.enabled === undefined ? undefined : iface.rom.enabled ? 'yes' : 'no',
          bar: iface.rom.bar === undefined ? undefined : iface.rom.bar ? 'on' : 'off',
          file: iface.rom.file,
        }),
    ...renderPlacement(iface, live),
  ]);
}
