import { child, el, type XmlElement } from '../../shared/xml.js';
import type { BandwidthRate, InterfaceDefinition, NicDriver } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf, positiveInt, yesNo } from '../xml-values.js';
import { parseVirtioOptions, renderVirtioOptions, VIRTIO_OPTION_ATTRS } from './virtio-options.js';

const ON_OFF = ['on', 'off'] as const;
const HOST_OFFLOADS = ['csum', 'gso', 'tso4', 'tso6', 'ecn', 'ufo', 'mrg_rxbuf'] as const;
const GUEST_OFFLOADS = ['csum', 'tso4', 'tso6', 'ecn', 'ufo'] as const;

/**
 * <driver> of an interface: what virtio-net-pci and its tap take (name='vhost':
 * the kernel's vhost-net, whose descriptors ferryd opens for QEMU).
 */
export const NIC_DRIVER_RULE: ElementRule = {
  attrs: {
    name: ['qemu', 'vhost'],
    queues: true,
    txmode: ['iothread', 'timer'],
    rx_queue_size: true,
    tx_queue_size: true,
    ioeventfd: ON_OFF,
    event_idx: ON_OFF,
    rss: ON_OFF,
    rss_hash_report: ON_OFF,
    ...VIRTIO_OPTION_ATTRS,
  },
  children: {
    host: { attrs: Object.fromEntries(HOST_OFFLOADS.map((k) => [k, ON_OFF])) },
    guest: { attrs: Object.fromEntries(GUEST_OFFLOADS.map((k) => [k, ON_OFF])) },
  },
};

const RATE_RULE: ElementRule = { attrs: { average: true, peak: true, burst: true } };
export const BANDWIDTH_RULE: ElementRule = { children: { inbound: RATE_RULE, outbound: RATE_RULE } };

export function parseNicDriver(d: XmlElement): NicDriver {
  const driver: NicDriver = {};
  if (d.attrs.name !== undefined) driver.name = oneOf(d.attrs.name, ['qemu', 'vhost'] as const, 'driver', 'name');
  if (d.attrs.queues !== undefined) driver.queues = positiveInt(d.attrs.queues, 'driver');
  if (d.attrs.txmode !== undefined) driver.txmode = oneOf(d.attrs.txmode, ['iothread', 'timer'] as const, 'driver', 'txmode');
  if (d.attrs.rx_queue_size !== undefined) driver.rxQueueSize = queueSize(d.attrs.rx_queue_size);
  if (d.attrs.tx_queue_size !== undefined) driver.txQueueSize = queueSize(d.attrs.tx_queue_size);
  const ioeventfd = yesNo(d.attrs.ioeventfd, 'driver', 'ioeventfd');
  if (ioeventfd !== undefined) driver.ioeventfd = ioeventfd;
  const eventIdx = yesNo(d.attrs.event_idx, 'driver', 'event_idx');
  if (eventIdx !== undefined) driver.eventIdx = eventIdx;
  const rss = yesNo(d.attrs.rss, 'driver', 'rss');
  if (rss !== undefined) driver.rss = rss;
  const hashReport = yesNo(d.attrs.rss_hash_report, 'driver', 'rss_hash_report');
  if (hashReport !== undefined) driver.rssHashReport = hashReport;
  const host = offloads(child(d, 'host'), HOST_OFFLOADS);
  const guest = offloads(child(d, 'guest'), GUEST_OFFLOADS);
  if (host) driver.host = host;
  if (guest) driver.guest = guest;
  const virtio = parseVirtioOptions(d);
  if (virtio) driver.virtio = virtio;
  return driver;
}

/** virtio-net's ring sizes: a power of two from 256 to 1024 (QEMU refuses others). */
function queueSize(v: string): number {
  const n = positiveInt(v, 'driver');
  if (n < 256 || n > 1024 || (n & (n - 1)) !== 0) throw xmlInvalid('driver', `queue size '${v}' must be a power of two between 256 and 1024`);
  return n;
}

function offloads<K extends string>(e: XmlElement | undefined, keys: readonly K[]): Partial<Record<K, boolean>> | undefined {
  if (!e) return undefined;
  const out: Partial<Record<K, boolean>> = {};
  for (const k of keys) {
    const v = yesNo(e.attrs[k], e.name, k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function renderNicDriver(d: NicDriver | undefined): XmlElement | undefined {
  if (!d) return undefined;
  const onOff = (r: Record<string, boolean | undefined> | undefined): Record<string, string | undefined> | undefined =>
    r && Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === undefined ? undefined : v ? 'on' : 'off']));
  const host = onOff(d.host);
  const guest = onOff(d.guest);
  return el(
    'driver',
    {
      name: d.name,
      queues: d.queues,
      txmode: d.txmode,
      rx_queue_size: d.rxQueueSize,
      tx_queue_size: d.txQueueSize,
      ioeventfd: d.ioeventfd === undefined ? undefined : d.ioeventfd ? 'on' : 'off',
      event_idx: d.eventIdx === undefined ? undefined : d.eventIdx ? 'on' : 'off',
      rss: d.rss === undefined ? undefined : d.rss ? 'on' : 'off',
      rss_hash_report: d.rssHashReport === undefined ? undefined : d.rssHashReport ? 'on' : 'off',
      ...renderVirtioOptions(d.virtio),
    },
    [host ? el('host', host) : undefined, guest ? el('guest', guest) : undefined],
  );
}

export function parseBandwidth(b: XmlElement): NonNullable<InterfaceDefinition['bandwidth']> {
  const out: NonNullable<InterfaceDefinition['bandwidth']> = {};
  const inbound = child(b, 'inbound');
  const outbound = child(b, 'outbound');
  if (inbound) out.inbound = rate(inbound);
  if (outbound) out.outbound = rate(outbound);
  return out;
}

function rate(e: XmlElement): BandwidthRate {
  if (e.attrs.average === undefined) throw xmlInvalid(e.name, `<${e.name}> needs average= (kilobytes per second)`);
  const r: BandwidthRate = { average: positiveInt(e.attrs.average, e.name) };
  if (e.attrs.peak !== undefined) r.peak = positiveInt(e.attrs.peak, e.name);
  if (e.attrs.burst !== undefined) r.burst = positiveInt(e.attrs.burst, e.name);
  return r;
}

export function renderBandwidth(b: InterfaceDefinition['bandwidth']): XmlElement | undefined {
  if (!b) return undefined;
  const r = (name: string, x: BandwidthRate | undefined): XmlElement | undefined => x && el(name, { average: x.average, peak: x.peak, burst: x.burst });
  return el('bandwidth', {}, [r('inbound', b.inbound), r('outbound', b.outbound)]);
}
