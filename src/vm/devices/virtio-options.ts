import type { XmlElement } from '../../shared/xml.js';
import type { VirtioOptions } from '../definition.js';
import { yesNo } from '../xml-values.js';

const ON_OFF = ['on', 'off'] as const;

/** The <driver> attributes of libvirt's virtio options, for a device's rule. */
export const VIRTIO_OPTION_ATTRS = { iommu: ON_OFF, ats: ON_OFF, packed: ON_OFF, page_per_vq: ON_OFF } as const;

const NAMES: ReadonlyArray<[keyof VirtioOptions, string]> = [
  ['iommu', 'iommu'],
  ['ats', 'ats'],
  ['packed', 'packed'],
  ['pagePerVq', 'page_per_vq'],
];

/** Reads the virtio options of a <driver>; undefined when it sets none. */
export function parseVirtioOptions(driver: XmlElement | undefined): VirtioOptions | undefined {
  if (!driver) return undefined;
  const out: VirtioOptions = {};
  for (const [key, attr] of NAMES) {
    const v = yesNo(driver.attrs[attr], 'driver', attr);
    if (v !== undefined) out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The <driver> attributes that give them back. */
export function renderVirtioOptions(o: VirtioOptions | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, attr] of NAMES) out[attr] = o?.[key] === undefined ? undefined : o[key] ? 'on' : 'off';
  return out;
}

/** QEMU's virtio-pci properties for them, in libvirt's order (iommu_platform, ats, packed, page-per-vq). */
export function virtioOptionProps(o: VirtioOptions | undefined): string[] {
  if (!o) return [];
  const props: Array<[boolean | undefined, string]> = [
    [o.iommu, 'iommu_platform'],
    [o.ats, 'ats'],
    [o.packed, 'packed'],
    [o.pagePerVq, 'page-per-vq'],
  ];
  return props.filter(([v]) => v !== undefined).map(([v, name]) => `${name}=${v ? 'on' : 'off'}`);
}
