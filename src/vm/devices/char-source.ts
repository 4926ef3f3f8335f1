import { child, childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import type { CharSource } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { positiveInt } from '../xml-values.js';

export const CHAR_TYPES = ['pty', 'file', 'unix', 'tcp', 'udp', 'null', 'spicevmc', 'stdio', 'spiceport', 'qemu-vdagent', 'dbus', 'vc', 'pipe'] as const;

/** The parts of a character device ferry applies: <source>, <protocol>, <log>. */
export const CHAR_SOURCE_CHILDREN: Record<string, ElementRule> = {
  source: {
    attrs: { path: true, mode: ['bind', 'connect'], append: ['on', 'off'], host: true, service: true, tls: ['no'], channel: true },
    children: {
      reconnect: { attrs: { enabled: ['yes', 'no'], timeout: true } },
      clipboard: { attrs: { copypaste: ['yes', 'no'] } },
      mouse: { attrs: { mode: ['client', 'server'] } },
    },
  },
  protocol: { attrs: { type: ['raw', 'telnet'] } },
  log: { attrs: { file: true, append: ['on', 'off'] } },
};

/**
 * Reads a character device's host side. `types` are those the device accepts.
 * A udp device has two <source>s (bind and connect); ferry applies the connect one's host and service.
 */
export function parseCharSource(dev: XmlElement, types: readonly CharSource['type'][], label: string): CharSource {
  const type = (dev.attrs.type ?? 'pty') as CharSource['type'];
  if (!types.includes(type)) throw xmlInvalid(dev.name, `${label}: type '${type}' is not one of ${types.join(', ')}`);
  const result: CharSource = { type };
  const sources = childrenNamed(dev, 'source');
  const source = type === 'udp' ? sources.find((s) => s.attrs.mode !== 'bind') : sources[0];
  const bind = type === 'udp' ? sources.find((s) => s.attrs.mode === 'bind') : undefined;
  if (bind?.attrs.host !== undefined) result.bindHost = bind.attrs.host;
  if (bind?.attrs.service !== undefined) result.bindService = bind.attrs.service;
  if (source) {
    if (source.attrs.path !== undefined) result.sourcePath = source.attrs.path;
    if ((source.attrs.mode === 'bind' || source.attrs.mode === 'connect') && type !== 'udp') result.sourceMode = source.attrs.mode;
    if (source.attrs.append !== undefined) result.sourceAppend = source.attrs.append === 'on';
    if (source.attrs.host !== undefined) result.host = source.attrs.host;
    if (source.attrs.tls === 'no') result.tlsOff = true;
    if (source.attrs.service !== undefined) result.service = source.attrs.service;
    if (source.attrs.channel !== undefined) {
      if (type !== 'spiceport' && type !== 'dbus')
        throw xmlInvalid('source', `${label}: <source channel=> names a SPICE port or a D-Bus display channel, for type='spiceport' or 'dbus'`);
      result.channel = source.attrs.channel;
    }
    const clipboard = child(source, 'clipboard');
    const mouse = child(source, 'mouse');
    if ((clipboard || mouse) && type !== 'qemu-vdagent')
      throw xmlInvalid(clipboard ? 'clipboard' : 'mouse', `${label}: <${clipboard ? 'clipboard' : 'mouse'}> in <source> is for type='qemu-vdagent'`);
    if (clipboard?.attrs.copypaste !== undefined) result.vdagentClipboard = clipboard.attrs.copypaste === 'yes';
    if (mouse?.attrs.mode === 'client' || mouse?.attrs.mode === 'server') result.vdagentMouse = mouse.attrs.mode;
    const reconnect = child(source, 'reconnect');
    if (reconnect?.attrs.enabled === 'yes') result.reconnect = positiveInt(reconnect.attrs.timeout ?? '', 'reconnect');
    if (reconnect?.attrs.enabled === 'no') result.reconnect = 0; // written off: QEMU's reconnect-ms=0, as libvirt passes it
  }
  const protocol = child(dev, 'protocol')?.attrs.type;
  if (protocol === 'raw' || protocol === 'telnet') result.protocol = protocol;
  const log = child(dev, 'log');
  if (log) {
    if (!log.attrs.file) throw xmlInvalid('log', `${label}: missing file=`);
    result.logFile = log.attrs.file;
    result.logAppend = log.attrs.append === 'on';
  }
  if ((type === 'file' || type === 'unix' || type === 'pipe') && !result.sourcePath && !(type === 'unix' && dev.name === 'channel')) {
    throw xmlInvalid(dev.name, `${label}: type='${type}' needs <source path=...>`);
  }
  if (type === 'dbus' && !result.channel)
    throw xmlInvalid('source', `${label}: Missing source channel attribute for char device (type='dbus' needs <source channel=...>)`);
  if (type === 'spiceport' && !result.channel)
    throw xmlInvalid('source', `${label}: Missing source channel attribute for char device (type='spiceport' needs <source channel=...>)`);
  if ((type === 'file' || type === 'pipe') && result.sourceMode !== undefined) throw xmlInvalid('source', `${label}: a ${type} has no mode`);
  if ((type === 'tcp' || type === 'udp') && !result.service) throw xmlInvalid('source', `${label}: type='${type}' needs <source service=...>`);
  return result;
}

/** <source>, <protocol> and <log> for a character device, as parseCharSource() reads them. */
export function renderCharSource(s: CharSource, live: boolean): Array<XmlElement | undefined> {
  const hasSource =
    s.vdagentClipboard !== undefined ||
    s.vdagentMouse !== undefined ||
    s.channel !== undefined ||
    s.tlsOff === true ||
    s.sourcePath !== undefined ||
    s.host !== undefined ||
    s.service !== undefined ||
    s.sourceMode !== undefined ||
    s.sourceAppend !== undefined;
  const showPty = s.type === 'pty' && live && s.sourcePath !== undefined;
  const udpBind =
    s.type === 'udp' && (s.bindHost !== undefined || s.bindService !== undefined)
      ? el('source', { mode: 'bind', host: s.bindHost, service: s.bindService })
      : undefined;
  return [
    udpBind,
    hasSource && s.type === 'udp' ? el('source', { mode: 'connect', host: s.host, service: s.service }) : undefined,
    hasSource && s.type !== 'udp' && (s.type !== 'pty' || showPty)
      ? el(
          'source',
          {
            mode: s.sourceMode,
            path: s.sourcePath,
            host: s.host,
            service: s.service,
            append: s.sourceAppend === undefined ? undefined : s.sourceAppend ? 'on' : 'off',
            tls: s.tlsOff ? 'no' : undefined,
            channel: s.channel,
          },
          [
            s.reconnect === undefined
              ? undefined
              : s.reconnect === 0
                ? el('reconnect', { enabled: 'no' })
                : el('reconnect', { enabled: 'yes', timeout: s.reconnect }),
            s.vdagentClipboard === undefined ? undefined : el('clipboard', { copypaste: s.vdagentClipboard ? 'yes' : 'no' }),
            s.vdagentMouse === undefined ? undefined : el('mouse', { mode: s.vdagentMouse }),
          ],
        )
      : undefined,
    s.protocol === undefined ? undefined : el('protocol', { type: s.protocol }),
    s.logFile === undefined ? undefined : el('log', { file: s.logFile, append: s.logAppend ? 'on' : 'off' }),
  ];
}
