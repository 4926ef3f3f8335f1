import { childrenNamed, el, type XmlElement } from '../../shared/xml.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { nonNegativeInt, positiveInt } from '../xml-values.js';

/**
 * <driver><iothreads><iothread id=N><queue id=Q/>...</iothread></iothreads>: which iothreads serve a
 * virtio device's queues (QEMU's iothread-vq-mapping, libvirt 11). Without <queue>s QEMU spreads the
 * queues over the iothreads round-robin; with them, each queue is named once.
 */
export interface IothreadMapping {
  iothread: number;
  queues?: number[];
}

export const IOTHREADS_MAPPING_RULE: ElementRule = {
  children: { iothread: { attrs: { id: true }, children: { queue: { attrs: { id: true } } } } },
};

/** The mapping of a <driver>'s <iothreads>, checked as libvirt does; `queues` is the device's queue count when written. */
export function parseIothreadMapping(iothreads: XmlElement, owner: string, queues: number | undefined): IothreadMapping[] {
  const result = childrenNamed(iothreads, 'iothread').map((t): IothreadMapping => {
    const id = positiveInt(t.attrs.id ?? '', 'iothread');
    const qs = childrenNamed(t, 'queue').map((q) => nonNegativeInt(q.attrs.id ?? '', 'queue'));
    return qs.length > 0 ? { iothread: id, queues: qs } : { iothread: id };
  });
  if (result.length === 0) throw xmlInvalid('iothreads', `${owner}: <iothreads> names no <iothread>`);
  const ids = new Set(result.map((m) => m.iothread));
  if (ids.size !== result.length) throw xmlInvalid('iothread', `${owner}: an iothread is named more than once in <iothreads>`);
  const withQueues = result.filter((m) => m.queues !== undefined);
  if (withQueues.length > 0) {
    if (withQueues.length !== result.length) throw xmlInvalid('queue', `${owner}: <queue> mapping must be given for every <iothread> or for none`);
    if (queues === undefined) throw xmlInvalid('queue', `${owner}: mapping queues to iothreads needs <driver queues=>`);
    const seen = new Set<number>();
    for (const q of withQueues.flatMap((m) => m.queues ?? [])) {
      if (q >= queues) throw xmlInvalid('queue', `${owner}: queue '${q}' is over the device's ${queues} queues`);
      if (seen.has(q)) throw xmlInvalid('queue', `${owner}: queue '${q}' is mapped more than once`);
      seen.add(q);
    }
    if (seen.size !== queues) throw xmlInvalid('queue', `${owner}: every queue (0-${queues - 1}) must be mapped to an iothread`);
  }
  return result;
}

export function renderIothreadMapping(mapping: readonly IothreadMapping[] | undefined): XmlElement | undefined {
  if (!mapping) return undefined;
  return el(
    'iothreads',
    {},
    mapping.map((m) =>
      el(
        'iothread',
        { id: m.iothread },
        (m.queues ?? []).map((q) => el('queue', { id: q })),
      ),
    ),
  );
}

/** QEMU's iothread-vq-mapping (a list: the device goes on the command line as JSON). */
export function iothreadVqMapping(mapping: readonly IothreadMapping[]): Array<{ iothread: string; vqs?: number[] }> {
  return mapping.map((m) => (m.queues ? { iothread: `iothread${m.iothread}`, vqs: m.queues } : { iothread: `iothread${m.iothread}` }));
}
