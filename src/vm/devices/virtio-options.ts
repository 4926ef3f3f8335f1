import { child, type XmlElement } from '../../shared/xml.js';
import type { VirtioOptions } from '../definition.js';
import { yesNo } from '../xml-values.js';

/** <driver iommu= ats= packed= page_per_vq=>: the transport options every virtio device takes. */
export const VIRTIO_DRIVER_ATTRS = { iommu: ['on', 'off'], ats: ['on', 'off'], packed: ['on', 'off'], page_per_vq: ['on', 'off'] } as const;

/** The virtio options of a device's <driver>; absent when none is written. */
export function parseVirtioOptions(device: XmlElement): VirtioOptions | undefined {
  const d = child(device, 'driver');
  if (!d) return undefined;
  const out: VirtioOptions = {};
  const iommu = yesNo(d.attrs.iommu, 'driver', 'iommu');
  if (iommu !== undefined) out.iommu = iommu;
  const ats = yesNo(d.attrs.ats, 'driver', 'ats');
  if (ats !== undefined) out.ats = ats;
  const packed = yesNo(d.attrs.packed, 'driver', 'packed');
  if (packed !== undefined) out.packed = packed;
  const pagePerVq = yesNo(d.attrs.page_per_vq, 'driver', 'page_per_vq');
  if (pagePerVq !== undefined) out.pagePerVq = pagePerVq;
  return Object.keys(out).length === 0 ? undefined : out;
}

const onOff = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'on' : 'off');

/** The <driver> attributes that give the options back. */
export function virtioOptionAttrs(o: VirtioOptions | undefined): Record<string, string | undefined> {
  return { iommu: onOff(o?.iommu), ats: onOff(o?.ats), packed: onOff(o?.packed), page_per_vq: onOff(o?.pagePerVq) };
}

/** QEMU's properties of the options, in libvirt's order (iommu_platform, ats, packed, page-per-vq). */
export function virtioOptionProps(o: VirtioOptions | undefined): string[] {
  if (!o) return [];
  const p = (name: string, b: boolean | undefined): string[] => (b === undefined ? [] : [`${name}=${b ? 'on' : 'off'}`]);
  return [...p('iommu_platform', o.iommu), ...p('ats', o.ats), ...p('packed', o.packed), ...p('page-per-vq', o.pagePerVq)];
}
