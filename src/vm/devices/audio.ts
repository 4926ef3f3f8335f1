import { child, el, type XmlElement } from '../../shared/xml.js';
import type { AudioDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { positiveInt } from '../xml-values.js';
import { xmlInvalid } from '../xml-errors.js';

/** One direction of an <audio> backend (<input>/<output>): libvirt's generic settings, QEMU's in./out. */
export interface AudioStream {
  mixingEngine?: boolean;
  fixedSettings?: boolean;
  voices?: number;
  bufferLength?: number;
  settings?: { frequency?: number; channels?: number; format?: 's16' | 's32' | 'u16' | 'u32' | 'f32' | 's8' | 'u8' };
}

const FORMATS = ['s16', 's32', 'u16', 'u32', 'f32', 's8', 'u8'] as const;
const YES_NO = ['yes', 'no'] as const;

const STREAM_RULE: ElementRule = {
  attrs: { mixingEngine: YES_NO, fixedSettings: YES_NO, voices: true, bufferLength: true },
  children: { settings: { attrs: { frequency: true, channels: true, format: FORMATS } } },
};

/** What ferry applies of <audio>: the none, spice, dbus (a D-Bus display's) and file (a WAV file QEMU writes) backends and their generic settings. */
export const AUDIO_ATTRS = { id: true, type: ['none', 'spice', 'file', 'dbus'], timerPeriod: true, path: true } as const;
export const AUDIO_CHILDREN: Readonly<Record<string, ElementRule>> = { input: STREAM_RULE, output: STREAM_RULE };

/** The optional parts of <audio> beyond id and type (timerPeriod, path, <input>, <output>). */
export function parseAudioExtras(a: XmlElement, type: AudioDefinition['type']): Omit<AudioDefinition, 'id' | 'type'> {
  const out: Omit<AudioDefinition, 'id' | 'type'> = {};
  if (a.attrs.timerPeriod !== undefined) out.timerPeriod = positiveInt(a.attrs.timerPeriod, 'audio');
  if (a.attrs.path !== undefined) {
    if (type !== 'file') throw xmlInvalid('audio', `path is for type='file' only, not '${type}'`);
    if (a.attrs.path === '') throw xmlInvalid('audio', 'empty path');
    out.path = a.attrs.path;
  }
  const input = child(a, 'input');
  const output = child(a, 'output');
  if (input) out.input = parseStream(input);
  if (output) out.output = parseStream(output);
  return out;
}

function parseStream(s: XmlElement): AudioStream {
  const r: AudioStream = {};
  if (s.attrs.mixingEngine !== undefined) r.mixingEngine = s.attrs.mixingEngine === 'yes';
  if (s.attrs.fixedSettings !== undefined) r.fixedSettings = s.attrs.fixedSettings === 'yes';
  if (s.attrs.voices !== undefined) r.voices = positiveInt(s.attrs.voices, s.name);
  if (s.attrs.bufferLength !== undefined) r.bufferLength = positiveInt(s.attrs.bufferLength, s.name);
  const set = child(s, 'settings');
  if (set) {
    r.settings = {};
    if (set.attrs.frequency !== undefined) r.settings.frequency = positiveInt(set.attrs.frequency, 'settings');
    if (set.attrs.channels !== undefined) r.settings.channels = positiveInt(set.attrs.channels, 'settings');
    if (set.attrs.format !== undefined) r.settings.format = set.attrs.format as NonNullable<AudioStream['settings']>['format'];
  }
  return r;
}

export function renderAudioExtras(a: AudioDefinition): { attrs: Record<string, string | number | undefined>; children: XmlElement[] } {
  const stream = (name: string, s: AudioStream | undefined): XmlElement | undefined =>
    s &&
    el(
      name,
      {
        mixingEngine: yn(s.mixingEngine),
        fixedSettings: yn(s.fixedSettings),
        voices: s.voices,
        bufferLength: s.bufferLength,
      },
      s.settings ? [el('settings', { frequency: s.settings.frequency, channels: s.settings.channels, format: s.settings.format })] : [],
    );
  return {
    attrs: { timerPeriod: a.timerPeriod, path: a.path },
    children: [stream('input', a.input), stream('output', a.output)].filter((e): e is XmlElement => e !== undefined),
  };
}

const yn = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'yes' : 'no');

/** -audiodev as libvirt 11 writes it (JSON when it has settings): driver none/spice/wav, timer-period, path, in/out settings. */
export function audiodevArg(a: AudioDefinition): string {
  const driver = a.type === 'file' ? 'wav' : a.type;
  // Nothing beyond the backend: the short form ferry always wrote (QEMU reads both).
  if (a.timerPeriod === undefined && a.path === undefined && !a.input && !a.output) return `${driver},id=audio${a.id}`;
  const stream = (s: AudioStream | undefined): Record<string, unknown> | undefined =>
    s && {
      ...(s.mixingEngine === undefined ? {} : { 'mixing-engine': s.mixingEngine }),
      ...(s.fixedSettings === undefined ? {} : { 'fixed-settings': s.fixedSettings }),
      ...(s.voices === undefined ? {} : { voices: s.voices }),
      ...(s.bufferLength === undefined ? {} : { 'buffer-length': s.bufferLength }),
      ...(s.settings?.frequency === undefined ? {} : { frequency: s.settings.frequency }),
      ...(s.settings?.channels === undefined ? {} : { channels: s.settings.channels }),
      ...(s.settings?.format === undefined ? {} : { format: s.settings.format }),
    };
  return JSON.stringify({
    id: `audio${a.id}`,
    driver,
    ...(a.timerPeriod === undefined ? {} : { 'timer-period': a.timerPeriod }),
    ...(a.path === undefined ? {} : { path: a.path }),
    ...(a.input ? { in: stream(a.input) } : {}),
    ...(a.output ? { out: stream(a.output) } : {}),
  });
}
