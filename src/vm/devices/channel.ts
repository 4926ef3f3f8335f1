import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { ChannelDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

const CHANNEL_TYPES = ['unix', 'pty', 'spicevmc', 'file', 'tcp', 'null', 'qemu-vdagent', 'dbus', 'vc', 'pipe'] as const;
/** A guestfwd channel's host side is a byte stream slirp hands each guest connection to. */
const GUESTFWD_TYPES: readonly string[] = ['unix', 'pty', 'file', 'tcp', 'null', 'vc', 'pipe'];

export const CHANNEL_RULE: ElementRule = {
  attrs: { type: CHANNEL_TYPES },
  label: (e, i) => `<channel> '${child(e, 'target')?.attrs.name ?? `#${i}`}'`,
  children: {
    ...CHAR_SOURCE_CHILDREN,
    target: { attrs: { type: ['virtio', 'guestfwd'], name: true, state: ['connected', 'disconnected'], address: true, port: true } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

/** The guest agent's well-known port name. */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

export function parseChannel(channel: XmlElement, index: number): ChannelDefinition {
  const target = child(channel, 'target');
  const label = `<channel> '${target?.attrs.name ?? `#${index}`}'`;
  if (!target) throw xmlInvalid('channel', `${label}: missing <target type='virtio' name=...>`);
  if (target.attrs.type === 'guestfwd') return parseGuestfwd(channel, target, index);
  const result: ChannelDefinition = { ...parseCharSource(channel, CHANNEL_TYPES, label), ...parsePlacement(channel, label), targetType: 'virtio' };
  if (target.attrs.name) result.targetName = target.attrs.name;
  if (target.attrs.address !== undefined || target.attrs.port !== undefined)
    throw xmlInvalid('target', `${label}: address= and port= are for <target type='guestfwd'>`);
  if ((result.type === 'spicevmc' || result.type === 'qemu-vdagent') && !result.targetName) result.targetName = 'com.redhat.spice.0';
  return result;
}

/**
 * <target type='guestfwd' address= port=>: QEMU's slirp hands each TCP connection the
 * guest makes to address:port to the channel's host side. QEMU takes an IPv4 address
 * only (libvirt passes what it is given and QEMU refuses the rest at start).
 */
function parseGuestfwd(channel: XmlElement, target: XmlElement, index: number): ChannelDefinition {
  const label = `<channel> guestfwd #${index}`;
  const { address, port } = target.attrs;
  if (address === undefined) throw xmlInvalid('target', `${label}: guestfwd channel does not define a target address`);
  if (port === undefined) throw xmlInvalid('target', `${label}: guestfwd channel does not define a target port`);
  if (!isIPv4(address)) throw xmlInvalid('target', `${label}: guestfwd address '${address}' is not an IPv4 address (QEMU's guestfwd forwards IPv4 only)`);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw xmlInvalid('target', `${label}: Invalid port number: ${port}`);
  if (target.attrs.name !== undefined || target.attrs.state !== undefined)
    throw xmlInvalid('target', `${label}: name= and state= are for <target type='virtio'>`);
  const type = channel.attrs.type ?? 'pty';
  if (!GUESTFWD_TYPES.includes(type)) throw xmlInvalid('channel', `${label}: type '${type}' is not one of ${GUESTFWD_TYPES.join(', ')}`);
  if (child(channel, 'address')) throw xmlInvalid('address', `${label}: a guestfwd channel is no device of the guest and has no address`);
  const source = parseCharSource(channel, CHANNEL_TYPES, label);
  if (source.type === 'unix' && source.sourcePath === undefined) throw xmlInvalid('source', `${label}: Missing source path attribute for char device`);
  return { ...source, ...parsePlacement(channel, label), targetType: 'guestfwd', targetAddress: address, targetPort: Number(port) };
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * What names a unix channel's socket when the definition gives no path: its
 * target name, or for an unnamed port its virtio-serial address, as libvirt's
 * vioser-CC-BB-PP.sock (addresses are assigned at define, so it is stable).
 */
export function channelSocketKey(c: ChannelDefinition): string {
  if (c.targetName !== undefined) return c.targetName;
  const a = c.address;
  if (a?.type !== 'virtio-serial') throw new TypeError('an unnamed virtio channel has no virtio-serial address');
  const two = (n: number): string => String(n).padStart(2, '0');
  return `vioser-${two(a.controller)}-${two(a.bus)}-${two(a.port)}`;
}

export function renderChannel(c: ChannelDefinition, live: boolean): XmlElement {
  return el('channel', { type: c.type }, [
    ...renderCharSource(c, live),
    c.targetType === 'guestfwd'
      ? el('target', { type: 'guestfwd', address: c.targetAddress, port: c.targetPort })
      : el('target', { type: c.targetType, name: c.targetName, state: live ? c.targetState : undefined }),
    ...renderPlacement(c, live),
  ]);
}
