import { AUDIO_ATTRS, AUDIO_CHILDREN, parseAudioExtras, renderAudioExtras } from './audio.js';
import { child, childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import {
  type AudioDefinition,
  type GraphicsDefinition,
  type GraphicsListen,
  type InputDefinition,
  type SoundDefinition,
  SPICE_CHANNELS,
  VIDEO_MODELS,
  type VideoDefinition,
} from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid, xmlUnsupported } from '../xml-errors.js';
import { anyInt, oneOf, optionalInt, positiveInt, yesNo } from '../xml-values.js';
import { parseVirtioOptions, renderVirtioOptions, VIRTIO_OPTION_ATTRS } from './virtio-options.js';
import { ACPI_RULE, ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

// ---- <input>
export const INPUT_RULE: ElementRule = {
  attrs: { type: ['tablet', 'mouse', 'keyboard'], bus: ['usb', 'ps2', 'virtio'] },
  label: (e, i) => `<input type='${e.attrs.type ?? '?'}'> #${i}`,
  children: { driver: { attrs: VIRTIO_OPTION_ATTRS }, alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parseInput(e: XmlElement, index: number): InputDefinition {
  const type = oneOf(e.attrs.type ?? '', ['tablet', 'mouse', 'keyboard'] as const, 'input', 'type');
  const bus = oneOf(e.attrs.bus ?? (type === 'tablet' ? 'usb' : 'ps2'), ['usb', 'ps2', 'virtio'] as const, 'input', 'bus');
  if (type === 'tablet' && bus === 'ps2') throw xmlInvalid('input', `<input> #${index}: a tablet cannot be on ps2`);
  const result: InputDefinition = { type, bus, ...parsePlacement(e, `<input> #${index}`) };
  const virtio = parseVirtioOptions(child(e, 'driver'));
  if (virtio && bus !== 'virtio') throw xmlInvalid('driver', `<input> #${index}: virtio options (iommu, ats, packed, page_per_vq) are for bus='virtio'`);
  if (virtio) result.virtio = virtio;
  return result;
}

export function renderInput(i: InputDefinition, live: boolean): XmlElement {
  return el('input', { type: i.type, bus: i.bus }, [i.virtio ? el('driver', renderVirtioOptions(i.virtio)) : undefined, ...renderPlacement(i, live)]);
}

// ---- <graphics>
const SPICE_CHANNEL_MODES = ['secure', 'insecure', 'any'] as const;
const SPICE_CHILDREN = ['image', 'jpeg', 'zlib', 'playback', 'streaming', 'clipboard', 'mouse', 'filetransfer', 'gl'] as const;
const SPICE_CHILD_ATTR: Record<(typeof SPICE_CHILDREN)[number], { attr: string; values: readonly string[] }> = {
  image: { attr: 'compression', values: ['auto_glz', 'auto_lz', 'quic', 'glz', 'lz', 'off'] },
  jpeg: { attr: 'compression', values: ['auto', 'never', 'always'] },
  zlib: { attr: 'compression', values: ['auto', 'never', 'always'] },
  playback: { attr: 'compression', values: ['on', 'off'] },
  streaming: { attr: 'mode', values: ['filter', 'all', 'off'] },
  clipboard: { attr: 'copypaste', values: ['yes', 'no'] },
  mouse: { attr: 'mode', values: ['server', 'client'] },
  filetransfer: { attr: 'enable', values: ['yes', 'no'] },
  gl: { attr: 'enable', values: ['no'] },
};

export const GRAPHICS_RULE: ElementRule = {
  attrs: {
    type: ['vnc', 'spice', 'dbus'],
    address: true,
    p2p: ['yes', 'no'],
    port: true,
    tlsPort: true,
    autoport: ['yes', 'no'],
    websocket: true,
    listen: true,
    socket: true,
    passwd: true,
    passwdValidTo: true,
    keymap: true,
    sharePolicy: ['allow-exclusive', 'force-shared', 'ignore'],
    powerControl: ['yes', 'no'],
    defaultMode: ['any', 'secure', 'insecure'],
    connected: ['keep', 'disconnect', 'fail'],
  },
  label: (e, i) => `<graphics type='${e.attrs.type ?? '?'}'> #${i}`,
  children: {
    listen: { attrs: { type: ['address', 'network', 'none', 'socket'], address: true, network: true, socket: true, fromConfig: ['0', '1'] } },
    channel: { attrs: { name: SPICE_CHANNELS, mode: SPICE_CHANNEL_MODES } },
    ...Object.fromEntries(SPICE_CHILDREN.map((n) => [n, { attrs: { [SPICE_CHILD_ATTR[n].attr]: SPICE_CHILD_ATTR[n].values } }])),
    gl: {
      attrs: { enable: ['no'] },
      refusedValues: {
        'enable=yes':
          "OpenGL needs a GPU render node on the host (QEMU's gl=on, rendernode=), which ferry's hosts need not have and a migration cannot carry; use <gl enable='no'/> or leave it out",
      },
    },
    audio: { attrs: { id: true } },
  },
};

function port(v: string | undefined, element: string): number | undefined {
  if (v === undefined) return undefined;
  const n = anyInt(v, element);
  if (n < -1 || n > 65535) throw xmlInvalid(element, `invalid port '${v}'`);
  return n;
}

/** passwdValidTo as libvirt writes it: a UTC time, 2010-04-09T15:51:00. */
const VALID_TO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

export function parseGraphics(g: XmlElement, index: number): GraphicsDefinition {
  const type = oneOf(g.attrs.type ?? '', ['vnc', 'spice', 'dbus'] as const, 'graphics', 'type');
  const label = `<graphics type='${type}'> #${index}`;
  if (type === 'dbus') return parseDbusGraphics(g, label);
  for (const a of ['address', 'p2p'] as const) if (g.attrs[a] !== undefined) throw xmlInvalid('graphics', `${label}: ${a}= is a D-Bus display attribute`);
  if (child(g, 'audio')) throw xmlInvalid('audio', `${label}: <audio> is a D-Bus display setting`);
  const p = port(g.attrs.port, 'graphics');
  const autoport = yesNo(g.attrs.autoport, 'graphics', 'autoport') ?? (p === undefined || p === -1);
  const result: GraphicsDefinition = { type, autoport, listens: [] };
  // With autoport a port is the one a running domain was given (live XML); without, the fixed one.
  if (p !== undefined && p !== -1) result.port = p;
  if (type === 'vnc' && result.port !== undefined && !autoport && result.port < 5900) {
    throw xmlInvalid('graphics', `${label}: VNC port ${result.port} is below 5900 (display :0)`);
  }
  const tls = port(g.attrs.tlsPort, 'graphics');
  if (type === 'vnc') {
    if (g.attrs.tlsPort !== undefined) throw xmlInvalid('graphics', `${label}: tlsPort is a SPICE attribute`);
    const ws = port(g.attrs.websocket, 'graphics');
    if (ws !== undefined) result.websocket = ws;
    if (g.attrs.defaultMode !== undefined) throw xmlInvalid('graphics', `${label}: defaultMode is a SPICE attribute`);
    const power = yesNo(g.attrs.powerControl, 'graphics', 'powerControl');
    if (power !== undefined) result.powerControl = power;
  } else {
    if (g.attrs.powerControl !== undefined) throw xmlInvalid('graphics', `${label}: powerControl is a VNC attribute`);
    if (g.attrs.websocket !== undefined) throw xmlInvalid('graphics', `${label}: websocket is a VNC attribute`);
    if (g.attrs.sharePolicy !== undefined) throw xmlInvalid('graphics', `${label}: sharePolicy is a VNC attribute`);
    // A TLS port is served with the host's SPICE certificates (ferryd.conf spice_tls); 0 is none.
    if (tls !== undefined && tls !== 0) result.tlsPort = tls;
    const channels = parseSpiceChannels(g, label);
    if (channels) result.channels = channels;
  }
  if (type === 'vnc' && childrenNamed(g, 'channel').length > 0) throw xmlInvalid('channel', `${label}: <channel> is a SPICE setting`);
  if (g.attrs.passwd !== undefined) result.passwd = g.attrs.passwd;
  if (g.attrs.passwdValidTo !== undefined) {
    if (!VALID_TO.test(g.attrs.passwdValidTo) || Number.isNaN(Date.parse(`${g.attrs.passwdValidTo}Z`))) {
      throw xmlInvalid('graphics', `${label}: cannot parse password validity time '${g.attrs.passwdValidTo}', expect YYYY-MM-DDTHH:MM:SS`);
    }
    result.passwdValidTo = g.attrs.passwdValidTo;
  }
  if (g.attrs.connected !== undefined) {
    const connected = g.attrs.connected as GraphicsDefinition['connected'];
    if (type === 'vnc' && connected !== 'keep') throw xmlInvalid('graphics', `${label}: VNC only supports connected='keep'`);
    result.connected = connected;
  }
  if (g.attrs.keymap !== undefined) {
    if (!/^[a-z]{2}(-[a-z]+)*$/.test(g.attrs.keymap)) throw xmlInvalid('graphics', `${label}: invalid keymap '${g.attrs.keymap}'`);
    result.keymap = g.attrs.keymap;
  }
  if (g.attrs.sharePolicy !== undefined) result.sharePolicy = g.attrs.sharePolicy as GraphicsDefinition['sharePolicy'];
  if (g.attrs.defaultMode !== undefined) result.defaultMode = g.attrs.defaultMode as GraphicsDefinition['defaultMode'];
  for (const l of childrenNamed(g, 'listen')) {
    const lt = oneOf(l.attrs.type ?? 'address', ['address', 'network', 'none', 'socket'] as const, 'listen', 'type');
    const listen: GraphicsListen = { type: lt };
    if (l.attrs.address !== undefined && (lt === 'address' || lt === 'network')) listen.address = l.attrs.address;
    if (l.attrs.network !== undefined) listen.network = l.attrs.network;
    if (l.attrs.socket !== undefined) listen.socket = l.attrs.socket;
    // fromConfig='1' (libvirt's status XML): the address is this host's default, not the definition's.
    if (l.attrs.fromConfig === '1' && lt === 'address' && listen.address !== undefined) listen.generated = true;
    if (lt === 'network' && !listen.network) throw xmlInvalid('listen', `${label}: type='network' needs network=`);
    if (lt !== 'network' && l.attrs.network !== undefined) throw xmlInvalid('listen', `${label}: network= is for <listen type='network'>`);
    if (lt !== 'socket' && l.attrs.socket !== undefined) throw xmlInvalid('listen', `${label}: socket= is for <listen type='socket'>`);
    if ((lt === 'none' || lt === 'socket') && l.attrs.address !== undefined)
      throw xmlInvalid('listen', `${label}: address= is for <listen type='address'> or 'network'`);
    result.listens.push(listen);
  }
  if (g.attrs.listen !== undefined) {
    const first = result.listens[0];
    if (first && first.type === 'address' && first.address !== undefined && first.address !== g.attrs.listen) {
      throw xmlInvalid('graphics', `${label}: listen='${g.attrs.listen}' does not match <listen address='${first.address}'>`);
    }
    if (first && first.type === 'address' && first.address === undefined) first.address = g.attrs.listen;
    if (!first) result.listens.push({ type: 'address', address: g.attrs.listen });
  }
  if (g.attrs.socket !== undefined) {
    // libvirt's older form of <listen type='socket' socket=...> (VNC), which it still writes beside it.
    if (type !== 'vnc') throw xmlInvalid('graphics', `${label}: socket= is a VNC attribute (use <listen type='socket'>)`);
    const first = result.listens[0];
    if (first && (first.type !== 'socket' || (first.socket !== undefined && first.socket !== g.attrs.socket))) {
      throw xmlInvalid('graphics', `${label}: socket='${g.attrs.socket}' does not match its <listen>`);
    }
    if (first) first.socket = g.attrs.socket;
    else result.listens.push({ type: 'socket', socket: g.attrs.socket });
  }
  if (result.listens.length > 1) throw xmlUnsupported('listen', `${label}: ferry supports one <listen> per display`);
  const lt = result.listens[0]?.type;
  if (result.tlsPort !== undefined && result.tlsPort > 0 && (lt === 'socket' || lt === 'none')) {
    throw xmlUnsupported('graphics', `${label}: tlsPort='${result.tlsPort}' needs a display that listens on an address, not <listen type='${lt}'>`);
  }
  if (type === 'spice') {
    const spice: Record<string, string> = {};
    for (const n of SPICE_CHILDREN) {
      const c = child(g, n);
      const v = c?.attrs[SPICE_CHILD_ATTR[n].attr];
      if (c && v === undefined) throw xmlInvalid(n, `${label}: <${n}> needs ${SPICE_CHILD_ATTR[n].attr}=`);
      if (v !== undefined) spice[n] = v;
    }
    if (Object.keys(spice).length > 0) result.spice = spice;
  } else if (SPICE_CHILDREN.some((n) => child(g, n))) {
    throw xmlInvalid(
      'graphics',
      `${label}: ${SPICE_CHILDREN.filter((n) => child(g, n))
        .map((n) => `<${n}>`)
        .join(', ')} are SPICE settings`,
    );
  }
  return result;
}

/**
 * <graphics type='dbus'> as libvirt reads it: address= (a bus of the user's), p2p='yes' (no bus: clients come in
 * over QMP), <gl enable='no'/>, <audio id=/>. Without address and p2p ferryd runs the domain's own bus.
 */
function parseDbusGraphics(g: XmlElement, label: string): GraphicsDefinition {
  const other = Object.keys(g.attrs).filter((a) => a !== 'type' && a !== 'address' && a !== 'p2p');
  if (other.length > 0) throw xmlInvalid('graphics', `${label}: ${other.join(', ')} ${other.length > 1 ? 'are' : 'is'} not D-Bus display attributes`);
  const wrong = [...SPICE_CHILDREN.filter((n) => n !== 'gl'), 'listen', 'channel'].filter((n) => child(g, n));
  if (wrong.length > 0) throw xmlInvalid('graphics', `${label}: ${wrong.map((n) => `<${n}>`).join(', ')} are not D-Bus display settings`);
  const result: GraphicsDefinition = { type: 'dbus', autoport: false, listens: [] };
  const p2p = yesNo(g.attrs.p2p, 'graphics', 'p2p');
  if (p2p) result.p2p = true;
  if (g.attrs.address !== undefined) {
    if (p2p) throw xmlInvalid('graphics', `${label}: p2p with a specified address is not supported`);
    if (!g.attrs.address.startsWith('unix:'))
      throw xmlUnsupported('graphics', `${label}: address '${g.attrs.address}': ferry supports D-Bus addresses on a unix socket (unix:path=...)`);
    result.dbusAddress = g.attrs.address;
  }
  const gl = child(g, 'gl');
  if (gl) result.glOff = true;
  const audio = child(g, 'audio');
  if (audio) result.audioId = positiveInt(audio.attrs.id ?? '', 'audio');
  return result;
}

/** SPICE's <channel name= mode=/> list: each name once. */
function parseSpiceChannels(g: XmlElement, label: string): GraphicsDefinition['channels'] {
  const out: NonNullable<GraphicsDefinition['channels']> = {};
  for (const c of childrenNamed(g, 'channel')) {
    const name = oneOf(c.attrs.name ?? '', SPICE_CHANNELS, 'channel', 'name');
    const mode = oneOf(c.attrs.mode ?? '', SPICE_CHANNEL_MODES, 'channel', 'mode');
    if (out[name] !== undefined) throw xmlInvalid('channel', `${label}: <channel name='${name}'> is given twice`);
    out[name] = mode;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * A <graphics> as dumpxml shows it; `secrets`: its passwd too (dumpxml --security-info); `status`: as ferryd
 * keeps a running domain (libvirt's status XML), with fromConfig='1' on a listen address this host chose.
 */
export function renderGraphics(g: GraphicsDefinition, secrets: boolean, status = false): XmlElement {
  if (g.type === 'dbus') {
    return el('graphics', { type: 'dbus', address: g.dbusAddress, p2p: g.p2p ? 'yes' : undefined }, [
      g.glOff ? el('gl', { enable: 'no' }) : undefined,
      g.audioId === undefined ? undefined : el('audio', { id: g.audioId }),
    ]);
  }
  const listen = g.listens[0];
  return el(
    'graphics',
    {
      type: g.type,
      port: g.port ?? (g.autoport ? -1 : undefined),
      tlsPort: g.tlsPort,
      autoport: g.autoport ? 'yes' : 'no',
      websocket: g.websocket,
      listen: listen?.type === 'address' || listen?.type === 'network' ? listen.address : undefined,
      socket: g.type === 'vnc' && listen?.type === 'socket' ? listen.socket : undefined,
      keymap: g.keymap,
      sharePolicy: g.sharePolicy,
      powerControl: g.powerControl === undefined ? undefined : g.powerControl ? 'yes' : 'no',
      defaultMode: g.defaultMode,
      passwd: secrets ? g.passwd : undefined,
      passwdValidTo: g.passwdValidTo,
      connected: g.connected,
    },
    [
      ...g.listens.map((l) =>
        el('listen', {
          type: l.type,
          address: l.address,
          network: l.network,
          socket: l.socket,
          fromConfig: status && l.type === 'address' && l.generated ? '1' : undefined,
        }),
      ),
      ...SPICE_CHANNELS.filter((n) => g.channels?.[n] !== undefined).map((n) => el('channel', { name: n, mode: g.channels?.[n] })),
      ...Object.entries(g.spice ?? {}).map(([n, v]) => el(n, { [SPICE_CHILD_ATTR[n as (typeof SPICE_CHILDREN)[number]].attr]: v })),
    ],
  );
}

// ---- <video>
export const VIDEO_RULE: ElementRule = {
  label: (_e, i) => `<video> #${i}`,
  children: {
    model: {
      attrs: { type: VIDEO_MODELS, vram: true, ram: true, vgamem: true, vram64: true, heads: true, primary: ['yes', 'no'], blob: ['off'] },
      children: { resolution: { attrs: { x: true, y: true } } },
      refusedValues: {
        'blob=on':
          "virtio-gpu blob resources need the host's udmabuf driver (/dev/udmabuf), which ferry's hosts need not have (QEMU: need rutabaga or udmabuf for blob resources); use blob='off' or leave it out",
      },
    },
    acpi: ACPI_RULE,
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

/** The <model> sizes each video model applies (what QEMU's device has a property for); heads='1' is every model's default. */
const VIDEO_SETTINGS: Record<VideoDefinition['model'], ReadonlyArray<'vram' | 'ram' | 'vgamem' | 'vram64' | 'heads'>> = {
  qxl: ['vram', 'ram', 'vgamem', 'vram64', 'heads'],
  virtio: ['heads'],
  vga: ['vram'],
  cirrus: ['vram'],
  bochs: ['vram'],
  ramfb: [],
  none: [],
};

export function parseVideo(v: XmlElement, index: number): VideoDefinition {
  const label = `<video> #${index}`;
  const m = child(v, 'model');
  const model = oneOf(m?.attrs.type ?? 'vga', VIDEO_MODELS, 'model', 'type');
  const result: VideoDefinition = { model, ...parsePlacement(v, label) };
  for (const k of ['vram', 'ram', 'vgamem', 'vram64', 'heads'] as const) {
    const n = optionalInt(m, k, positiveInt);
    if (n === undefined) continue;
    if (!VIDEO_SETTINGS[model].includes(k) && !(k === 'heads' && n === 1)) {
      throw xmlUnsupported(
        'model',
        `${label}: ${k}='${n}' is not applied to video model '${model}' (it applies ${VIDEO_SETTINGS[model].join(', ') || 'no sizes'})`,
      );
    }
    result[k] = n;
  }
  if (model === 'cirrus' && result.vram !== undefined && ![4096, 8192, 16384].includes(result.vram)) {
    throw xmlInvalid('model', `${label}: cirrus video memory must be 4096, 8192 or 16384 KiB (got ${result.vram})`);
  }
  if (result.vram !== undefined && model !== 'qxl' && result.vram % 1024 !== 0) {
    throw xmlInvalid('model', `${label}: vram must be a whole number of MiB for video model '${model}'`);
  }
  const primary = yesNo(m?.attrs.primary, 'model', 'primary');
  if (primary !== undefined) result.primary = primary;
  if (m?.attrs.blob === 'off') {
    if (model !== 'virtio') throw xmlInvalid('model', `${label}: blob is for video model 'virtio'`);
    result.blob = false;
  }
  const resolution = child(m ?? v, 'resolution');
  if (m && resolution) {
    if (model !== 'qxl' && model !== 'virtio')
      throw xmlUnsupported('resolution', `${label}: <resolution> is applied to video models 'qxl' and 'virtio' only, not '${model}'`);
    result.resolution = { x: positiveInt(resolution.attrs.x ?? '', 'resolution'), y: positiveInt(resolution.attrs.y ?? '', 'resolution') };
  }
  return result;
}

/**
 * The primary video is the first (libvirt moves a primary='yes' to the
 * front); secondaries can only be qxl or virtio, as libvirt requires: any
 * other model is VGA-compatible and would fight the primary over the legacy
 * VGA ports, and 'none' stands alone.
 */
export function orderVideos(videos: VideoDefinition[]): VideoDefinition[] {
  const primaries = videos.filter((v) => v.primary === true);
  if (primaries.length > 1) throw xmlInvalid('video', 'only one primary video device is supported');
  const ordered = primaries.length === 1 ? [primaries[0] as VideoDefinition, ...videos.filter((v) => v.primary !== true)] : videos;
  if (ordered.some((v) => v.model === 'none') && ordered.length > 1) {
    throw xmlInvalid('video', "a video of model 'none' must be the only <video>");
  }
  ordered.forEach((v, i) => {
    if (i > 0 && v.model !== 'qxl' && v.model !== 'virtio') {
      throw xmlUnsupported('video', `<video> #${i}: video type '${v.model}' is only valid as primary video device`);
    }
  });
  return ordered;
}

export function renderVideo(v: VideoDefinition, live: boolean): XmlElement {
  return el('video', {}, [
    el(
      'model',
      {
        type: v.model,
        ram: v.ram,
        vram: v.vram,
        vram64: v.vram64,
        vgamem: v.vgamem,
        heads: v.heads,
        primary: v.primary === undefined ? undefined : v.primary ? 'yes' : 'no',
        blob: v.blob === false ? 'off' : undefined,
      },
      v.resolution ? [el('resolution', { x: v.resolution.x, y: v.resolution.y })] : [],
    ),
    ...renderPlacement(v, live),
  ]);
}

// ---- <sound> and <audio>
const SOUND_MODELS = ['ich9', 'ich6', 'ac97', 'es1370', 'sb16', 'pcspk', 'usb', 'virtio'] as const;
export const SOUND_RULE: ElementRule = {
  attrs: { model: SOUND_MODELS, multichannel: ['yes', 'no'], streams: true },
  label: (e, i) => `<sound model='${e.attrs.model ?? '?'}'> #${i}`,
  children: {
    driver: { attrs: VIRTIO_OPTION_ATTRS },
    codec: { attrs: { type: ['duplex', 'micro', 'output'] } },
    audio: { attrs: { id: true } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseSound(s: XmlElement, index: number): SoundDefinition {
  const model = oneOf(s.attrs.model ?? '', SOUND_MODELS, 'sound', 'model');
  const codecs = childrenNamed(s, 'codec').map((c) => oneOf(c.attrs.type ?? '', ['duplex', 'micro', 'output'] as const, 'codec', 'type'));
  if (codecs.length > 0 && model !== 'ich6' && model !== 'ich9') throw xmlInvalid('codec', `<sound model='${model}'>: codecs are for HDA (ich6, ich9)`);
  const result: SoundDefinition = { model, codecs, ...parsePlacement(s, `<sound> #${index}`) };
  const audio = child(s, 'audio');
  if (audio) result.audioId = positiveInt(audio.attrs.id ?? '', 'audio');
  // The PC speaker is the machine's own (QEMU's pcspk-audiodev= machine option): there is one, at no address.
  const multichannel = yesNo(s.attrs.multichannel, 'sound', 'multichannel');
  if (multichannel !== undefined) {
    if (model !== 'usb') throw xmlInvalid('sound', `<sound model='${model}'>: multichannel is for model 'usb'`);
    result.multichannel = multichannel;
  }
  const streams = optionalInt(s, 'streams', positiveInt);
  const driver = child(s, 'driver');
  const virtio = driver ? parseVirtioOptions(driver) : undefined;
  if ((streams !== undefined || virtio) && model !== 'virtio')
    throw xmlInvalid('sound', `<sound model='${model}'>: streams and <driver> virtio options are for model 'virtio'`);
  if (streams !== undefined) result.streams = streams;
  if (virtio) result.virtio = virtio;
  if (model === 'pcspk' && result.address) throw xmlInvalid('address', "<sound model='pcspk'> is the machine's PC speaker: it takes no <address>");
  return result;
}

export function renderSound(s: SoundDefinition, live: boolean): XmlElement {
  return el('sound', { model: s.model, streams: s.streams, multichannel: s.multichannel === undefined ? undefined : s.multichannel ? 'yes' : 'no' }, [
    s.virtio ? el('driver', renderVirtioOptions(s.virtio)) : undefined,
    ...s.codecs.map((type) => el('codec', { type })),
    s.audioId === undefined ? undefined : el('audio', { id: s.audioId }),
    ...renderPlacement(s, live),
  ]);
}

export const AUDIO_RULE: ElementRule = { attrs: AUDIO_ATTRS, children: AUDIO_CHILDREN, label: (e) => `<audio id='${e.attrs.id ?? '?'}'>` };

export function parseAudio(a: XmlElement): AudioDefinition {
  const type = oneOf(a.attrs.type ?? '', ['none', 'spice', 'file', 'dbus'] as const, 'audio', 'type');
  return { id: positiveInt(a.attrs.id ?? '', 'audio'), type, ...parseAudioExtras(a, type) };
}

export function renderAudio(a: AudioDefinition): XmlElement {
  const extras = renderAudioExtras(a);
  return el('audio', { id: a.id, type: a.type, ...extras.attrs }, extras.children);
}
