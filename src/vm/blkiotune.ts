import { child, childrenNamed, el, type XmlElement } from '../shared/xml.js';
import type { BlkiotuneDefinition, BlkiotuneDevice } from './definition.js';
import { xmlInvalid } from './xml-errors.js';

/**
 * <blkiotune>: the domain's I/O weight and per-host-device weights and
 * throttles, applied through its cgroup (blkio on cgroup v1, io on v2) by
 * src/host/cgroup-tuning.ts. A value of 0 is unset, as libvirt has it.
 */
const LIMITS = { read_iops_sec: 'readIopsSec', write_iops_sec: 'writeIopsSec', read_bytes_sec: 'readBytesSec', write_bytes_sec: 'writeBytesSec' } as const;

export const BLKIOTUNE_RULE = {
  children: {
    weight: {},
    device: { children: { path: {}, weight: {}, read_bytes_sec: {}, write_bytes_sec: {}, read_iops_sec: {}, write_iops_sec: {} } },
  },
} as const;

function unsigned(e: XmlElement, what: string): number {
  const t = e.text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n)) throw xmlInvalid('blkiotune', `invalid value '${e.text}' for ${what}`);
  return n;
}

export function parseBlkiotune(e: XmlElement | undefined): BlkiotuneDefinition | undefined {
  if (!e) return undefined;
  const out: BlkiotuneDefinition = { devices: [] };
  const weight = child(e, 'weight');
  if (weight) {
    const n = unsigned(weight, 'blkiotune weight');
    if (n !== 0) out.weight = n;
  }
  for (const d of childrenNamed(e, 'device')) {
    const path = child(d, 'path')?.text.trim();
    if (!path) throw xmlInvalid('blkiotune', 'missing per-device path');
    if (out.devices.some((x) => x.path === path)) throw xmlInvalid('blkiotune', `duplicate blkio device path '${path}'`);
    const dev: BlkiotuneDevice = { path };
    const w = child(d, 'weight');
    if (w) {
      const n = unsigned(w, 'device weight');
      if (n !== 0) dev.weight = n;
    }
    for (const [name, key] of Object.entries(LIMITS)) {
      const x = child(d, name);
      if (!x) continue;
      const n = unsigned(x, `device ${name}`);
      if (n !== 0) dev[key] = n;
    }
    // A device with nothing set is dropped, as libvirt's formatter drops it.
    if (Object.keys(dev).length > 1) out.devices.push(dev);
  }
  return out.weight === undefined && out.devices.length === 0 ? undefined : out;
}

export function renderBlkiotune(b: BlkiotuneDefinition | undefined): XmlElement | undefined {
  if (!b) return undefined;
  return el('blkiotune', {}, [
    b.weight === undefined ? undefined : el('weight', {}, String(b.weight)),
    ...b.devices.map((d) =>
      el('device', {}, [
        el('path', {}, d.path),
        d.weight === undefined ? undefined : el('weight', {}, String(d.weight)),
        ...Object.entries(LIMITS).map(([name, key]) => (d[key] === undefined ? undefined : el(name, {}, String(d[key])))),
      ]),
    ),
  ]);
}
