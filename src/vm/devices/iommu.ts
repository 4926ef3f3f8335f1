import { child, el, type XmlElement } from '../../shared/xml.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { DomainDefinition, IommuDefinition } from '../definition.js';
import type { MachineFamily } from '../machine-family.js';
import type { DefineProblem, ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { oneOf, positiveInt, yesNo } from '../xml-values.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

const ON_OFF = ['on', 'off'] as const;

export const IOMMU_RULE: ElementRule = {
  attrs: { model: ['intel', 'virtio'] },
  label: (e) => `<iommu model='${e.attrs.model ?? '?'}'>`,
  children: {
    driver: { attrs: { intremap: ON_OFF, caching_mode: ON_OFF, eim: ON_OFF, iotlb: ON_OFF, aw_bits: true, dma_translation: ON_OFF } },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseIommu(e: XmlElement): IommuDefinition {
  const model = oneOf(e.attrs.model ?? '', ['intel', 'virtio'] as const, 'iommu', 'model');
  const result: IommuDefinition = { model, ...parsePlacement(e, `<iommu model='${model}'>`) };
  const d = child(e, 'driver');
  if (d) {
    const flag = (attr: string): boolean | undefined => yesNo(d.attrs[attr], 'driver', attr);
    const set = <K extends keyof IommuDefinition>(key: K, v: IommuDefinition[K] | undefined): void => {
      if (v !== undefined) result[key] = v;
    };
    set('intremap', flag('intremap'));
    set('cachingMode', flag('caching_mode'));
    set('eim', flag('eim'));
    set('iotlb', flag('iotlb'));
    set('dmaTranslation', flag('dma_translation'));
    if (d.attrs.aw_bits !== undefined) set('awBits', positiveInt(d.attrs.aw_bits, 'driver'));
  }
  return result;
}

export function renderIommu(i: IommuDefinition, live: boolean): XmlElement {
  const onOff = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'on' : 'off');
  const driver = {
    intremap: onOff(i.intremap),
    caching_mode: onOff(i.cachingMode),
    eim: onOff(i.eim),
    iotlb: onOff(i.iotlb),
    aw_bits: i.awBits,
    dma_translation: onOff(i.dmaTranslation),
  };
  const hasDriver = Object.values(driver).some((v) => v !== undefined);
  return el('iommu', { model: i.model }, [hasDriver ? el('driver', driver) : undefined, ...renderPlacement(i, live)]);
}

/** What libvirt's validation refuses of an IOMMU (qemuValidateDomainDeviceDefIOMMU and the intremap/eim rules). */
export function iommuProblems(def: DomainDefinition, family: MachineFamily): DefineProblem[] {
  const i = def.devices.iommu;
  if (!i) return [];
  const device = `<iommu model='${i.model}'>`;
  const at = (p: string, message: string): DefineProblem => ({ path: `/domain/devices/iommu${p}`, device, message });
  const out: DefineProblem[] = [];
  if (i.model === 'intel') {
    if (family !== 'q35') out.push(at('/@model', `model 'intel' needs a q35 machine (QEMU's intel-iommu is a q35 device)`));
    if (i.intremap && def.platform.ioapic !== 'qemu') {
      out.push(
        at('/driver/@intremap', "IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu'): add <features><ioapic driver='qemu'/></features>"),
      );
    }
    if (i.eim && !i.intremap) out.push(at('/driver/@eim', "eim='on' needs intremap='on'"));
    if (i.awBits !== undefined && i.awBits !== 39 && i.awBits !== 48)
      out.push(at('/driver/@aw_bits', `aw_bits '${i.awBits}' is not supported (QEMU's intel-iommu takes 39 or 48)`));
  } else {
    const driverSet = [i.intremap, i.cachingMode, i.eim, i.iotlb, i.awBits, i.dmaTranslation].some((v) => v !== undefined);
    if (driverSet) out.push(at('/driver', "the <driver> options are intel-iommu's; model 'virtio' takes none"));
    if (i.address?.type === 'pci' && i.address.bus !== 0) out.push(at('/address', 'a virtio IOMMU sits on the root bus (bus 0)'));
  }
  return out;
}

/** The -device of the IOMMU, with intel-iommu's properties in libvirt's order. */
export function iommuDeviceProps(i: IommuDefinition): string[] {
  const b = (name: string, v: boolean | undefined): string | undefined => (v === undefined ? undefined : `${name}=${v ? 'on' : 'off'}`);
  return [
    `id=${i.alias ?? 'iommu0'}`,
    b('intremap', i.intremap),
    b('caching-mode', i.cachingMode),
    b('eim', i.eim),
    b('device-iotlb', i.iotlb),
    i.awBits === undefined ? undefined : `aw-bits=${i.awBits}`,
    b('dma-translation', i.dmaTranslation),
  ].filter((p): p is string => p !== undefined);
}

export function assertOneIommu(existing: IommuDefinition | undefined): void {
  if (existing) throw xmlInvalid('iommu', 'only a single IOMMU device is supported');
}
