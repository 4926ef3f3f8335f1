import { IOTHREADS_MAPPING_RULE, parseIothreadMapping, renderIothreadMapping } from './iothread-mapping.js';
import { child, el, type XmlElement } from '../../shared/xml.js';
import { parseVirtioOptions, renderVirtioOptions, VIRTIO_OPTION_ATTRS } from './virtio-options.js';
import { ADDRESS_RULE } from '../device-address.js';
import type { ControllerDefinition } from '../definition.js';
import type { ElementRule } from '../schema/element-rule.js';
import { xmlInvalid } from '../xml-errors.js';
import { anyInt, nonNegativeInt, oneOf, optionalInt, positiveInt, yesNo } from '../xml-values.js';
import { toKiB } from '../memory-units.js';
import { ALIAS_RULE, parsePlacement, renderPlacement } from './placement.js';

export const CONTROLLER_TYPES = ['pci', 'usb', 'sata', 'ide', 'scsi', 'virtio-serial', 'fdc', 'ccid'] as const;
export const PCI_CONTROLLER_MODELS = [
  'pci-root',
  'pcie-root',
  'pcie-root-port',
  'pcie-to-pci-bridge',
  'pci-bridge',
  'dmi-to-pci-bridge',
  'pci-expander-bus',
  'pcie-expander-bus',
  'pcie-switch-upstream-port',
  'pcie-switch-downstream-port',
] as const;
export const USB_CONTROLLER_MODELS = [
  'qemu-xhci',
  'nec-xhci',
  'ich9-ehci1',
  'ich9-uhci1',
  'ich9-uhci2',
  'ich9-uhci3',
  'piix3-uhci',
  'piix4-uhci',
  'none',
] as const;
export const SCSI_CONTROLLER_MODELS = ['virtio-scsi', 'lsilogic'] as const;
/** The QEMU device of each PCI controller model (<model name=...> in libvirt's XML). */
export const PCI_MODEL_NAMES: Record<string, string> = {
  'pcie-root-port': 'pcie-root-port',
  'pcie-to-pci-bridge': 'pcie-pci-bridge',
  'pci-bridge': 'pci-bridge',
  'dmi-to-pci-bridge': 'i82801b11-bridge',
  'pci-expander-bus': 'pxb',
  'pcie-expander-bus': 'pxb-pcie',
  'pcie-switch-upstream-port': 'x3130-upstream',
  'pcie-switch-downstream-port': 'xio3130-downstream',
};
/** The <model name=> each PCI controller model may have (a root port may be the older ioh3420). */
const MODEL_NAMES_OF: Record<string, readonly string[]> = {
  ...Object.fromEntries(Object.entries(PCI_MODEL_NAMES).map(([model, name]) => [model, [name]])),
  'pcie-root-port': ['pcie-root-port', 'ioh3420'],
};

/** The index of a controller written without one, until completeDefinition() numbers it. */
export const UNNUMBERED = -1;

export const CONTROLLER_RULE: ElementRule = {
  attrs: {
    type: CONTROLLER_TYPES,
    index: true,
    model: [...PCI_CONTROLLER_MODELS, ...USB_CONTROLLER_MODELS, ...SCSI_CONTROLLER_MODELS, 'ahci', 'piix3', 'piix4', 'ich6'],
    ports: true,
    vectors: true,
  },
  label: (e) => `<controller type='${e.attrs.type ?? '?'}' index='${e.attrs.index ?? '0'}'>`,
  children: {
    model: { attrs: { name: [...new Set([...Object.values(PCI_MODEL_NAMES), 'ioh3420'])] } },
    target: { attrs: { chassis: true, port: true, busNr: true, hotplug: ['on', 'off'], chassisNr: true, memReserve: true }, children: { node: {} } },
    pcihole64: { attrs: { unit: true } },
    master: { attrs: { startport: true } },
    driver: {
      attrs: { queues: true, iothread: true, ioeventfd: ['on', 'off'], cmd_per_lun: true, max_sectors: true, ...VIRTIO_OPTION_ATTRS },
      children: { iothreads: IOTHREADS_MAPPING_RULE },
    },
    alias: ALIAS_RULE,
    address: ADDRESS_RULE,
  },
};

export function parseController(c: XmlElement): ControllerDefinition {
  const type = oneOf(c.attrs.type ?? '', CONTROLLER_TYPES, 'controller', 'type');
  // Without index= the controller gets one at define (completeDefinition()), as libvirt numbers them.
  const index = c.attrs.index === undefined ? UNNUMBERED : nonNegativeInt(c.attrs.index, 'controller');
  const label = `<controller type='${type}'${index === UNNUMBERED ? '' : ` index='${index}'`}>`;
  const result: ControllerDefinition = { type, index, ...parsePlacement(c, label) };
  const model = c.attrs.model;
  if (model !== undefined) {
    const allowed: readonly string[] =
      type === 'pci'
        ? PCI_CONTROLLER_MODELS
        : type === 'usb'
          ? USB_CONTROLLER_MODELS
          : type === 'scsi'
            ? SCSI_CONTROLLER_MODELS
            : type === 'sata'
              ? ['ahci']
              : type === 'ide'
                ? ['piix3', 'piix4', 'ich6']
                : [];
    if (!allowed.includes(model)) throw xmlInvalid('controller', `${label}: model '${model}' is not a ${type} controller model`);
    result.model = model;
  }
  if (type === 'pci' && result.model === undefined) throw xmlInvalid('controller', `${label}: a pci controller needs model=`);
  // A PCI controller's index is the number of the bus it provides (0-255): a larger one gave the controllers added at define
  // bus numbers past 255 (bus='0x100000000'), which the definition's own dumpxml then failed to define again.
  if (type === 'pci' && index !== UNNUMBERED && index > 255)
    throw xmlInvalid('controller', `${label}: a pci controller's index is its bus number, at most 255`);
  const ports = optionalInt(c, 'ports', positiveInt);
  if (ports !== undefined) result.ports = ports;
  const vectors = optionalInt(c, 'vectors');
  if (vectors !== undefined) result.vectors = vectors;
  const modelEl = child(c, 'model');
  if (modelEl?.attrs.name) {
    const names = MODEL_NAMES_OF[result.model ?? ''] ?? [];
    if (!names.includes(modelEl.attrs.name))
      throw xmlInvalid(
        'model',
        `${label}: <model name='${modelEl.attrs.name}'> is not a device of model '${result.model ?? type}'${names.length > 0 ? ` (it is ${names.map((n) => `'${n}'`).join(' or ')})` : ''}`,
      );
    result.modelName = modelEl.attrs.name;
  }
  const hole = child(c, 'pcihole64');
  if (hole) {
    if (result.model !== 'pci-root' && result.model !== 'pcie-root')
      throw xmlInvalid('pcihole64', `${label}: <pcihole64> is a setting of the root bus (pci-root, pcie-root)`);
    result.pcihole64KiB = toKiB(hole.text, hole.attrs.unit, 'pcihole64');
  }
  const target = child(c, 'target');
  if (target) {
    if (target.attrs.chassis !== undefined) result.chassis = anyInt(target.attrs.chassis, 'target');
    if (target.attrs.port !== undefined) result.port = anyInt(target.attrs.port, 'target');
    if (target.attrs.busNr !== undefined) result.busNr = anyInt(target.attrs.busNr, 'target');
    if (target.attrs.chassisNr !== undefined) result.chassisNr = anyInt(target.attrs.chassisNr, 'target');
    if (target.attrs.hotplug !== undefined) result.hotplug = target.attrs.hotplug === 'on';
    if (target.attrs.memReserve !== undefined) {
      if (result.model !== 'pci-bridge' && result.model !== 'pcie-root-port')
        throw xmlInvalid('target', `${label}: memReserve is a setting of pci-bridge and pcie-root-port controllers`);
      result.memReserveKiB = positiveInt(target.attrs.memReserve, 'target');
    }
    const node = child(target, 'node');
    if (node) result.numaNode = nonNegativeInt(node.text, 'node');
  }
  const master = child(c, 'master');
  if (master) result.masterStartport = nonNegativeInt(master.attrs.startport ?? '0', 'master');
  const driver = child(c, 'driver');
  const queues = optionalInt(driver, 'queues', positiveInt);
  if (queues !== undefined) result.queues = queues;
  const iothread = optionalInt(driver, 'iothread', positiveInt);
  if (iothread !== undefined) result.iothread = iothread;
  const scsiTuning = {
    ioeventfd: yesNo(driver?.attrs.ioeventfd, 'driver', 'ioeventfd'),
    cmdPerLun: optionalInt(driver, 'cmd_per_lun', positiveInt),
    maxSectors: optionalInt(driver, 'max_sectors', positiveInt),
  };
  if (Object.values(scsiTuning).some((v) => v !== undefined)) {
    if (!(result.type === 'scsi' && result.model === 'virtio-scsi'))
      throw xmlInvalid(
        'driver',
        `<controller type='${result.type}' index='${result.index}'>: ioeventfd, cmd_per_lun and max_sectors are for virtio-scsi controllers`,
      );
    if (scsiTuning.ioeventfd !== undefined) result.ioeventfd = scsiTuning.ioeventfd;
    if (scsiTuning.ioeventfd === false && (iothread !== undefined || (driver && child(driver, 'iothreads')))) {
      throw xmlInvalid(
        'driver',
        `<controller type='scsi' index='${result.index}'>: ioeventfd='off' cannot go with an iothread (QEMU: ioeventfd is required for iothread)`,
      );
    }
    if (scsiTuning.cmdPerLun !== undefined) result.cmdPerLun = scsiTuning.cmdPerLun;
    if (scsiTuning.maxSectors !== undefined) result.maxSectors = scsiTuning.maxSectors;
  }
  const mapping = driver ? child(driver, 'iothreads') : undefined;
  if (mapping) {
    const owner = `<controller type='${result.type}' index='${result.index}'>`;
    if (!(result.type === 'scsi' && result.model === 'virtio-scsi')) throw xmlInvalid('iothreads', `${owner}: <iothreads> is for virtio-scsi controllers`);
    if (iothread !== undefined) throw xmlInvalid('iothreads', `${owner}: <driver iothread=> and <iothreads> cannot be used together`);
    result.iothreadMapping = parseIothreadMapping(mapping, owner, queues);
  }
  const virtio = parseVirtioOptions(driver);
  if (virtio) {
    if (!(result.type === 'virtio-serial' || (result.type === 'scsi' && result.model === 'virtio-scsi'))) {
      throw xmlInvalid(
        'driver',
        `<controller type='${result.type}' index='${result.index}'>: virtio options (iommu, ats, packed, page_per_vq) are for virtio-scsi and virtio-serial controllers`,
      );
    }
    result.virtio = virtio;
  }
  return result;
}

export function renderController(c: ControllerDefinition, live: boolean): XmlElement {
  const hasTarget =
    c.chassis !== undefined ||
    c.chassisNr !== undefined ||
    c.port !== undefined ||
    c.busNr !== undefined ||
    c.hotplug !== undefined ||
    c.numaNode !== undefined ||
    c.memReserveKiB !== undefined;
  return el('controller', { type: c.type, index: c.index, model: c.model, ports: c.ports, vectors: c.vectors }, [
    c.modelName === undefined ? undefined : el('model', { name: c.modelName }),
    c.pcihole64KiB === undefined ? undefined : el('pcihole64', { unit: 'KiB' }, String(c.pcihole64KiB)),
    hasTarget
      ? el(
          'target',
          {
            chassisNr: c.chassisNr,
            chassis: c.chassis,
            port: c.port === undefined ? undefined : `0x${c.port.toString(16)}`,
            busNr: c.busNr,
            hotplug: c.hotplug === undefined ? undefined : c.hotplug ? 'on' : 'off',
            memReserve: c.memReserveKiB,
          },
          c.numaNode === undefined ? [] : [el('node', {}, String(c.numaNode))],
        )
      : undefined,
    c.queues === undefined &&
    c.iothread === undefined &&
    c.virtio === undefined &&
    c.iothreadMapping === undefined &&
    c.ioeventfd === undefined &&
    c.cmdPerLun === undefined &&
    c.maxSectors === undefined
      ? undefined
      : el(
          'driver',
          {
            queues: c.queues,
            cmd_per_lun: c.cmdPerLun,
            max_sectors: c.maxSectors,
            ioeventfd: c.ioeventfd === undefined ? undefined : c.ioeventfd ? 'on' : 'off',
            iothread: c.iothread,
            ...renderVirtioOptions(c.virtio),
          },
          [renderIothreadMapping(c.iothreadMapping)],
        ),
    c.masterStartport === undefined ? undefined : el('master', { startport: c.masterStartport }),
    ...renderPlacement(c, live),
  ]);
}
