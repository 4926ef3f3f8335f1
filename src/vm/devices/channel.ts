import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { ChannelDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

const CHANNEL_TYPES = ['unix', 'pty', 'spicevmc', 'file', 'tcp', 'null', 'qemu-vdagent', 'dbus'] as const;

export const CHANNEL_RULE: ElementRule = {
  attrs: { type: CHANNEL_TYPES },
  label: (e, i) => `<channel> '${child(e, 'target')?.attrs.name ?? `#${i}`}'`,
  children: {
    ...CHAR_SOURCE_CHILDREN,
    target: { attrs: { type: ['virtio'], name: true, state: ['connected', 'disconnected'] } },
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
  const result: ChannelDefinition = { ...parseCharSource(channel, CHANNEL_TYPES, label), ...parsePlacement(channel, label), targetType: 'virtio' };
  if (target.attrs.name) result.targetName = target.attrs.name;
  if ((result.type === 'spicevmc' || result.type === 'qemu-vdagent') && !result.targetName) result.targetName = 'com.redhat.spice.0';
  return result;
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
    el('target', { type: c.targetType, name: c.targetName, state: live ? c.targetState : undefined }),
    ...renderPlacement(c, live),
  ]);
}
