import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { ChannelDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

const CHANNEL_TYPES = ['unix', 'pty', 'spicevmc', 'file', 'tcp', 'null'] as const;

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
  if (result.type === 'spicevmc' && !result.targetName) result.targetName = 'com.redhat.spice.0';
  // An unnamed port is libvirt's too (virtserialport without name=); ferry names a unix channel's socket after its target, so that one needs a name or a path.
  if (!result.targetName && result.type === 'unix' && result.sourcePath === undefined) throw xmlInvalid('target', `${label}: a unix virtio channel needs name= (or <source path=>)`);
  return result;
}

export function renderChannel(c: ChannelDefinition, live: boolean): XmlElement {
  return el('channel', { type: c.type }, [
    ...renderCharSource(c, live),
    el('target', { type: c.targetType, name: c.targetName, state: live ? c.targetState : undefined }),
    ...renderPlacement(c, live),
  ]);
}
