import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import {
  type MemballoonDefinition,
  type PanicDefinition,
  type RedirdevDefinition,
  type RngDefinition,
  type UsbRedirFilterRule,
  WATCHDOG_ACTIONS,
  type WatchdogDefinition,
} from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { nonNegativeInt, oneOf, optionalInt, positiveInt, yesNo } from '../xml-values.js';
import { CHAR_SOURCE_CHILDREN, parseCharSource, renderCharSource } from './char-source.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';
import { parseVirtioOptions, renderVirtioOptions, VIRTIO_OPTION_ATTRS } from './virtio-options.js';

// ---- <redirdev>
export const REDIRDEV_RULE: ElementRule = {
  attrs: { bus: ['usb'], type: ['spicevmc', 'tcp', 'unix', 'dbus'] },
  label: (e, i) => `<redirdev type='${e.attrs.type ?? '?'}'> #${i}`,
  children: { ...CHAR_SOURCE_CHILDREN, boot: { attrs: { order: true } }, alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parseRedirdev(r: XmlElement, index: number): RedirdevDefinition {
  const label = `<redirdev> #${index}`;
  oneOf(r.attrs.bus ?? 'usb', ['usb'] as const, 'redirdev', 'bus');
  const boot = child(r, 'boot');
  return {
    bus: 'usb',
    ...parseCharSource(r, ['spicevmc', 'tcp', 'unix', 'dbus'], label),
    ...parsePlacement(r, label),
    ...(boot ? { bootOrder: positiveInt(boot.attrs.order ?? '', 'boot') } : {}),
  };
}

export function renderRedirdev(r: RedirdevDefinition, live: boolean): XmlElement {
  return el('redirdev', { bus: r.bus, type: r.type }, [
    ...renderCharSource(r, live),
    r.bootOrder === undefined ? undefined : el('boot', { order: r.bootOrder }),
    ...renderPlacement(r, live),
  ]);
}

// ---- <redirfilter>
export const REDIRFILTER_RULE: ElementRule = {
  label: () => '<redirfilter>',
  children: { usbdev: { attrs: { class: true, vendor: true, product: true, version: true, allow: ['yes', 'no'] } } },
};

/** A hex field of <usbdev> ("0x08"; "-1" or absent: any), at most `max`. */
function filterField(v: string | undefined, name: string, max: number): number | undefined {
  if (v === undefined || v === '-1') return undefined;
  if (!/^(0x)?[0-9a-f]+$/i.test(v)) throw xmlInvalid('usbdev', `<redirfilter>: invalid ${name} '${v}'`);
  const n = Number.parseInt(v.replace(/^0x/i, ''), 16);
  if (n > max) throw xmlInvalid('usbdev', `<redirfilter>: ${name} '${v}' is out of range`);
  return n;
}

/** "1.10" → 0x0110: major and minor are hex bytes, as libvirt reads them. */
function filterVersion(v: string | undefined): number | undefined {
  if (v === undefined || v === '-1') return undefined;
  const m = /^([0-9a-f]{1,2})\.([0-9a-f]{1,2})$/i.exec(v);
  if (!m) throw xmlInvalid('usbdev', `<redirfilter>: invalid version '${v}' (expected major.minor, as 1.10)`);
  return (Number.parseInt(m[1] as string, 16) << 8) | Number.parseInt(m[2] as string, 16);
}

export function parseRedirfilter(f: XmlElement): UsbRedirFilterRule[] {
  return f.children
    .filter((c) => c.name === 'usbdev')
    .map((u) => {
      const allow = yesNo(u.attrs.allow, 'usbdev', 'allow');
      if (allow === undefined) throw xmlInvalid('usbdev', '<redirfilter>: <usbdev> needs allow=');
      const rule: UsbRedirFilterRule = { allow };
      const cls = filterField(u.attrs.class, 'class', 0xff);
      if (cls !== undefined) rule.class = cls;
      const vendor = filterField(u.attrs.vendor, 'vendor', 0xffff);
      if (vendor !== undefined) rule.vendor = vendor;
      const product = filterField(u.attrs.product, 'product', 0xffff);
      if (product !== undefined) rule.product = product;
      const version = filterVersion(u.attrs.version);
      if (version !== undefined) rule.version = version;
      return rule;
    });
}

const hex = (n: number, digits: number): string => `0x${n.toString(16).toUpperCase().padStart(digits, '0')}`;

export function renderRedirfilter(rules: UsbRedirFilterRule[]): XmlElement {
  return el(
    'redirfilter',
    {},
    rules.map((r) =>
      el('usbdev', {
        class: r.class === undefined ? undefined : hex(r.class, 2),
        vendor: r.vendor === undefined ? undefined : hex(r.vendor, 4),
        product: r.product === undefined ? undefined : hex(r.product, 4),
        version: r.version === undefined ? undefined : `${(r.version >> 8).toString(16)}.${(r.version & 0xff).toString(16).toUpperCase().padStart(2, '0')}`,
        allow: r.allow ? 'yes' : 'no',
      }),
    ),
  );
}

/** usb-redir's filter property: class:vendor:product:version:allow rules, '|' between, -1 for any. */
export function usbRedirFilter(rules: UsbRedirFilterRule[]): string {
  const f = (n: number | undefined, digits: number): string => (n === undefined ? '-1' : hex(n, digits));
  return rules.map((r) => `${f(r.class, 2)}:${f(r.vendor, 4)}:${f(r.product, 4)}:${f(r.version, 4)}:${r.allow ? 1 : 0}`).join('|');
}

// ---- <rng>
export const RNG_RULE: ElementRule = {
  attrs: { model: ['virtio'] },
  label: (_e, i) => `<rng> #${i}`,
  children: {
    backend: { attrs: { model: ['random', 'egd', 'builtin'], type: ['tcp', 'unix', 'udp'] }, children: CHAR_SOURCE_CHILDREN },
    rate: { attrs: { bytes: true, period: true } },
    driver: { attrs: VIRTIO_OPTION_ATTRS },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseRng(r: XmlElement, index: number): RngDefinition {
  const label = `<rng> #${index}`;
  oneOf(r.attrs.model ?? '', ['virtio'] as const, 'rng', 'model');
  const b = child(r, 'backend');
  if (!b) throw xmlInvalid('rng', `${label}: missing <backend>`);
  const model = oneOf(b.attrs.model ?? '', ['random', 'egd', 'builtin'] as const, 'backend', 'model');
  let backend: RngDefinition['backend'];
  if (model === 'random') {
    const path = b.text || '/dev/random';
    if (path !== '/dev/random' && path !== '/dev/urandom' && path !== '/dev/hwrng') {
      throw xmlInvalid('backend', `${label}: file '${path}' is not a supported random source (/dev/random, /dev/urandom, /dev/hwrng)`);
    }
    backend = { model, path };
  } else if (model === 'egd') {
    backend = { model, ...parseCharSource({ ...b, attrs: { type: b.attrs.type ?? '' } }, ['tcp', 'unix', 'udp'], label) };
  } else {
    backend = { model };
  }
  const result: RngDefinition = { model: 'virtio', backend, ...parsePlacement(r, label) };
  const rate = child(r, 'rate');
  if (rate) {
    result.rateBytes = positiveInt(rate.attrs.bytes ?? '', 'rate');
    const period = optionalInt(rate, 'period', positiveInt);
    if (period !== undefined) result.ratePeriod = period;
  }
  const virtio = parseVirtioOptions(child(r, 'driver'));
  if (virtio) result.virtio = virtio;
  return result;
}

export function renderRng(r: RngDefinition, live: boolean): XmlElement {
  const b = r.backend;
  const backend =
    b.model === 'random'
      ? el('backend', { model: 'random' }, b.path)
      : b.model === 'egd'
        ? el('backend', { model: 'egd', type: b.type }, renderCharSource(b, live))
        : el('backend', { model: 'builtin' });
  return el('rng', { model: r.model }, [
    r.rateBytes === undefined ? undefined : el('rate', { bytes: r.rateBytes, period: r.ratePeriod }),
    backend,
    r.virtio ? el('driver', renderVirtioOptions(r.virtio)) : undefined,
    ...renderPlacement(r, live),
  ]);
}

// ---- <watchdog>
export const WATCHDOG_RULE: ElementRule = {
  attrs: { model: ['i6300esb', 'itco', 'ib700'], action: WATCHDOG_ACTIONS },
  label: (e) => `<watchdog model='${e.attrs.model ?? '?'}'>`,
  children: { alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parseWatchdog(w: XmlElement): WatchdogDefinition {
  const model = oneOf(w.attrs.model ?? '', ['i6300esb', 'itco', 'ib700'] as const, 'watchdog', 'model');
  const action = oneOf(w.attrs.action ?? 'reset', WATCHDOG_ACTIONS, 'watchdog', 'action');
  return { model, action, ...parsePlacement(w, `<watchdog model='${model}'>`) };
}

export function renderWatchdog(w: WatchdogDefinition, live: boolean): XmlElement {
  return el('watchdog', { model: w.model, action: w.action }, renderPlacement(w, live));
}

// ---- <memballoon>
export const MEMBALLOON_RULE: ElementRule = {
  attrs: { model: ['virtio', 'none'], autodeflate: ['on', 'off'], freePageReporting: ['on', 'off'] },
  label: () => '<memballoon>',
  children: { stats: { attrs: { period: true } }, driver: { attrs: VIRTIO_OPTION_ATTRS }, alias: ALIAS_RULE, address: ADDRESS_RULE },
};

export function parseMemballoon(m: XmlElement): MemballoonDefinition {
  const model = oneOf(m.attrs.model ?? '', ['virtio', 'none'] as const, 'memballoon', 'model');
  const result: MemballoonDefinition = { model, ...parsePlacement(m, '<memballoon>') };
  const autodeflate = yesNo(m.attrs.autodeflate, 'memballoon', 'autodeflate');
  if (autodeflate !== undefined) result.autodeflate = autodeflate;
  const fpr = yesNo(m.attrs.freePageReporting, 'memballoon', 'freePageReporting');
  if (fpr !== undefined) result.freePageReporting = fpr;
  const stats = child(m, 'stats');
  if (stats) result.statsPeriod = nonNegativeInt(stats.attrs.period ?? '', 'stats');
  const virtio = parseVirtioOptions(child(m, 'driver'));
  if (virtio) result.virtio = virtio;
  if (model === 'none' && (stats || autodeflate !== undefined || result.address || virtio)) throw xmlInvalid('memballoon', "model='none' takes no settings");
  return result;
}

export function renderMemballoon(m: MemballoonDefinition, live: boolean): XmlElement {
  const onOff = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'on' : 'off');
  return el('memballoon', { model: m.model, autodeflate: onOff(m.autodeflate), freePageReporting: onOff(m.freePageReporting) }, [
    m.statsPeriod === undefined ? undefined : el('stats', { period: m.statsPeriod }),
    ...renderPlacement(m, live),
    m.virtio ? el('driver', renderVirtioOptions(m.virtio)) : undefined, // after <address>, as libvirt writes it
  ]);
}

// ---- <panic>
export const PANIC_RULE: ElementRule = {
  attrs: { model: ['isa', 'pvpanic', 'hyperv'] },
  label: (e) => `<panic model='${e.attrs.model ?? 'isa'}'>`,
  children: { address: { attrs: { type: ['isa', 'pci'], iobase: true, domain: true, bus: true, slot: true, function: true } }, alias: ALIAS_RULE },
};

export function parsePanic(p: XmlElement): PanicDefinition {
  const model = oneOf(p.attrs.model ?? 'isa', ['isa', 'pvpanic', 'hyperv'] as const, 'panic', 'model');
  const a = child(p, 'address');
  if (a?.attrs.type === 'isa') {
    if (model !== 'isa') throw xmlInvalid('address', `<panic model='${model}'>: an isa address is for model='isa'`);
    if (a.attrs.iobase !== undefined && a.attrs.iobase.toLowerCase() !== '0x505') {
      throw xmlInvalid('address', `<panic model='isa'>: iobase '${a.attrs.iobase}' is not supported (QEMU's pvpanic sits at 0x505)`);
    }
    return a.attrs.iobase === undefined ? { model } : { model, isaIobase: a.attrs.iobase };
  }
  return { model, ...parsePlacement(p, `<panic model='${model}'>`) };
}

export function renderPanic(p: PanicDefinition, live: boolean): XmlElement {
  if (p.isaIobase !== undefined) return el('panic', { model: p.model }, [el('address', { type: 'isa', iobase: p.isaIobase })]);
  return el('panic', { model: p.model }, renderPlacement(p, live));
}
