import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { FerryError } from '../errors/ferry-error.js';
import { child, childrenNamed, el, renderXml, type XmlElement } from '../shared/xml.js';
import { normalizeMac, normalizeUuid } from '../vm/identifiers.js';
import { parseXmlDocument } from '../vm/xml-errors.js';
import { DEFAULT_BRIDGE_TEMPLATE, type NetworkDefinition, type NetworkIp } from './network-definition.js';

const XML_HINT = 'Fix the element named in the message (docs/networking.md lists what ferry reads in network XML)';
const ELEMENTS = ['name', 'uuid', 'forward', 'bridge', 'mtu', 'mac', 'ip'];
/** libvirt's forward modes; ferry runs 'bridge' (and no <forward>: isolated). */
const LIBVIRT_FORWARD_MODES = ['nat', 'route', 'open', 'bridge', 'private', 'vepa', 'passthrough', 'hostdev'];

function invalid(element: string, problem: string): FerryError {
  return new FerryError('XML_INVALID', `XML error: ${problem} in <${element}>`, { details: { element }, hint: XML_HINT });
}

function unsupported(element: string, why: string): FerryError {
  return new FerryError('XML_UNSUPPORTED', `unsupported configuration: <${element}> ${why}`, { details: { element }, hint: XML_HINT });
}

function onlyAttributes(e: XmlElement, path: string, allowed: string[]): void {
  const extra = Object.keys(e.attrs).find((a) => !allowed.includes(a));
  if (extra) throw unsupported(path, `attribute ${extra}= is not supported by ferry`);
}

function integer(text: string, element: string, attr: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw invalid(element, `${attr}='${text}' must be an integer from ${min} to ${max}`);
  return n;
}

/** Parses libvirt network XML (the subset in docs/networking.md); every problem names its element. */
export function parseNetworkXml(source: string): NetworkDefinition {
  const root = parseXmlDocument(source);
  if (root.name !== 'network') throw invalid(root.name, `expected root element <network>, found <${root.name}>`);
  const other = root.children.find((c) => !ELEMENTS.includes(c.name));
  if (other) throw unsupported(`network/${other.name}`, `is not supported by ferry (it reads ${ELEMENTS.map((e) => `<${e}>`).join(', ')})`);
  const name = child(root, 'name')?.text;
  if (!name) throw invalid('network', 'missing <name>');
  if (name.includes('/')) throw invalid('name', `name '${name}' cannot contain '/'`);
  const uuidText = child(root, 'uuid')?.text;
  const uuid = uuidText ? normalizeUuid(uuidText) : randomUUID();
  if (!uuid) throw invalid('uuid', `malformed uuid '${uuidText}'`);

  const forward = parseForward(child(root, 'forward'), name);
  const bridgeEl = child(root, 'bridge');
  if (bridgeEl) onlyAttributes(bridgeEl, 'bridge', ['name', 'stp', 'delay']);
  const def: NetworkDefinition = { name, uuid, forward, bridge: { name: bridgeEl?.attrs.name ?? '' }, ips: [] };
  const stp = bridgeEl?.attrs.stp;
  const delay = bridgeEl?.attrs.delay;
  if (stp !== undefined && stp !== 'on' && stp !== 'off') throw invalid('bridge', `stp='${stp}' must be 'on' or 'off'`);
  if (forward === 'bridge') {
    if (!def.bridge.name) throw invalid('bridge', `network '${name}' with forward mode='bridge' needs <bridge name=...> (the host bridge to use)`);
    if (stp !== undefined || delay !== undefined) {
      throw invalid(
        'bridge',
        `bridge delay/stp options only allowed in isolated mode, not in bridge (network '${name}'): the host bridge is configured on the host`,
      );
    }
    for (const e of ['ip', 'mac', 'mtu']) {
      if (child(root, e))
        throw unsupported(
          e,
          `in network '${name}' with forward mode='bridge': the host bridge's ${e === 'ip' ? 'addresses are' : `${e.toUpperCase()} is`} set on the host, not by ferry`,
        );
    }
  } else {
    def.bridge.name ||= DEFAULT_BRIDGE_TEMPLATE;
    def.bridge.stp = stp !== 'off';
    def.bridge.delay = delay === undefined ? 0 : integer(delay, 'bridge', 'delay', 0, 30);
  }
  checkBridgeName(def.bridge.name);

  const mtu = child(root, 'mtu');
  if (mtu) def.mtu = integer(mtu.attrs.size ?? '', 'mtu', 'size', 68, 65535);
  const mac = child(root, 'mac');
  if (mac) {
    const m = normalizeMac(mac.attrs.address ?? '');
    if (!m) throw invalid('mac', `unable to parse mac address '${mac.attrs.address ?? ''}'`);
    def.mac = m;
  }
  def.ips = childrenNamed(root, 'ip').map((ip) => parseIp(ip, name));
  return def;
}

function parseForward(forward: XmlElement | undefined, network: string): NetworkDefinition['forward'] {
  if (!forward) return 'isolated';
  const mode = forward.attrs.mode ?? 'nat';
  if (!LIBVIRT_FORWARD_MODES.includes(mode)) throw invalid('forward', `unknown forwarding type '${mode}'`);
  if (mode !== 'bridge') {
    throw new FerryError(
      'NET_FORWARD_UNSUPPORTED',
      `unsupported configuration: network '${network}' uses forward mode='${mode}', which ferry does not support in this release`,
      {
        details: { network, mode, element: 'forward' },
      },
    );
  }
  if (forward.attrs.dev !== undefined || forward.children.length > 0) {
    throw unsupported(
      'forward',
      `of network '${network}': a forward device or interface list (macvtap) is not supported by ferry; name a host bridge in <bridge name=...>`,
    );
  }
  onlyAttributes(forward, 'forward', ['mode']);
  return 'bridge';
}

/** A Linux interface name (at most 15 characters); '%d' stands for the first free number. */
function checkBridgeName(name: string): void {
  const literal = name.replace('%d', '0');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(literal) || name.split('%d').length > 2) {
    throw invalid('bridge', `bridge name '${name}' is not a valid interface name`);
  }
  if (literal.length > 15) throw invalid('bridge', `bridge name '${name}' is longer than 15 characters`);
}

function parseIp(ip: XmlElement, network: string): NetworkIp {
  onlyAttributes(ip, 'ip', ['family', 'address', 'netmask', 'prefix']);
  const sub = ip.children[0];
  if (sub) {
    throw unsupported(
      `ip/${sub.name}`,
      sub.name === 'dhcp'
        ? `of network '${network}': ferry runs no DHCP server in this release; give the guests static addresses`
        : `of network '${network}' is not supported by ferry`,
    );
  }
  const address = ip.attrs.address ?? '';
  const kind = isIP(address);
  if (kind === 0) throw invalid('ip', `invalid address '${address}' in network '${network}'`);
  const family = ip.attrs.family ?? (kind === 6 ? 'ipv6' : 'ipv4');
  if (family !== 'ipv4' && family !== 'ipv6') throw invalid('ip', `unsupported address family '${family}'`);
  if ((family === 'ipv6') !== (kind === 6)) throw invalid('ip', `address '${address}' is not an ${family} address`);
  const { netmask, prefix } = ip.attrs;
  if (netmask !== undefined && prefix !== undefined) throw invalid('ip', `network '${network}' IP address cannot have both a prefix and a netmask`);
  if (netmask === undefined && prefix === undefined) throw invalid('ip', `address '${address}' needs netmask= or prefix=`);
  const out: NetworkIp = { family, address };
  if (netmask !== undefined) {
    if (family === 'ipv6') throw invalid('ip', 'netmask= is for IPv4; use prefix= for IPv6');
    if (
      isIP(netmask) !== 4 ||
      !/^1*0*$/.test(
        netmask
          .split('.')
          .map((o) => Number(o).toString(2).padStart(8, '0'))
          .join(''),
      )
    ) {
      throw invalid('ip', `invalid netmask '${netmask}'`);
    }
    out.netmask = netmask;
  } else {
    out.prefix = integer(prefix as string, 'ip', 'prefix', 0, family === 'ipv6' ? 128 : 32);
  }
  return out;
}

/** Renders a network definition as libvirt network XML (libvirt's element order). */
export function renderNetworkXml(def: NetworkDefinition): string {
  const isolated = def.forward === 'isolated';
  return renderXml(
    el('network', {}, [
      el('name', {}, def.name),
      el('uuid', {}, def.uuid),
      isolated ? undefined : el('forward', { mode: 'bridge' }),
      el(
        'bridge',
        isolated ? { name: def.bridge.name, stp: def.bridge.stp === false ? 'off' : 'on', delay: def.bridge.delay ?? 0 } : { name: def.bridge.name },
      ),
      def.mtu === undefined ? undefined : el('mtu', { size: def.mtu }),
      def.mac === undefined ? undefined : el('mac', { address: def.mac }),
      ...def.ips.map((ip) => el('ip', { family: ip.family === 'ipv6' ? 'ipv6' : undefined, address: ip.address, netmask: ip.netmask, prefix: ip.prefix })),
    ]),
  );
}
