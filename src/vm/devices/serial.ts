import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import { type ConsoleDefinition, SERIAL_TARGET_TYPES, type SerialDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { nonNegativeInt, oneOf } from '../xml-values.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

const SERIAL_TYPES = ['pty', 'file', 'unix', 'tcp', 'udp', 'null', 'spiceport', 'dbus', 'vc', 'pipe', 'stdio'] as const;
const MODEL_OF_TARGET: Record<SerialDefinition['targetType'], string> = {
  'isa-serial': 'isa-serial',
  'pci-serial': 'pci-serial',
  'usb-serial': 'usb-serial',
};

export const SERIAL_RULE: ElementRule = {
  attrs: { type: SERIAL_TYPES },
  label: (e, i) => `<serial> ${e.attrs.type ?? 'pty'} #${i}`,
  children: {
    ...CHAR_SOURCE_CHILDREN,
    target: {
      attrs: { type: SERIAL_TARGET_TYPES, port: true },
      children: { model: { attrs: { name: Object.values(MODEL_OF_TARGET) } } },
    },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export const CONSOLE_RULE: ElementRule = {
  attrs: { type: SERIAL_TYPES, tty: true },
  label: (_e, i) => `<console> #${i}`,
  children: {
    ...CHAR_SOURCE_CHILDREN,
    target: { attrs: { type: ['serial', 'virtio'], port: true } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseSerial(serial: XmlElement, index: number): SerialDefinition {
  const label = `<serial> #${index}`;
  const target = child(serial, 'target');
  const targetType = oneOf(target?.attrs.type ?? child(target ?? serial, 'model')?.attrs.name ?? 'isa-serial', SERIAL_TARGET_TYPES, 'target', 'type');
  const model = target ? child(target, 'model')?.attrs.name : undefined;
  if (model !== undefined && model !== MODEL_OF_TARGET[targetType]) {
    throw xmlInvalid('model', `${label}: target model '${model}' does not match target type '${targetType}'`);
  }
  const port = target?.attrs.port === undefined ? index : nonNegativeInt(target.attrs.port, 'target');
  return { ...parseCharSource(serial, SERIAL_TYPES, label), ...parsePlacement(serial, label), port, targetType };
}

export function renderSerial(s: SerialDefinition, live: boolean): XmlElement {
  return el('serial', { type: s.type }, [
    ...renderCharSource(s, live),
    el('target', { type: s.targetType, port: s.port }, [el('model', { name: MODEL_OF_TARGET[s.targetType] })]),
    ...renderPlacement(s, live),
  ]);
}

export function parseConsole(console: XmlElement, index: number): ConsoleDefinition {
  const label = `<console> #${index}`;
  const target = child(console, 'target');
  const targetType = oneOf(target?.attrs.type ?? 'serial', ['serial', 'virtio'] as const, 'target', 'type');
  const port = target?.attrs.port === undefined ? 0 : nonNegativeInt(target.attrs.port, 'target');
  return { ...parseCharSource(console, SERIAL_TYPES, label), ...parsePlacement(console, label), targetType, port };
}

export function renderConsole(c: ConsoleDefinition, live: boolean): XmlElement {
  return el('console', { type: c.type }, [...renderCharSource(c, live), el('target', { type: c.targetType, port: c.port }), ...renderPlacement(c, live)]);
}
