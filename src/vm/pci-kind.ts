import type { ControllerDefinition, DomainDefinition, Placed } from './definition.js';
import type { MachineFamily } from './machine-family.js';

/**
 * How a device connects to PCI, as libvirt's address sets decide it:
 * 'pcie' endpoints go into a pcie-root-port on q35; 'pci' (conventional) ones
 * into a pcie-to-pci-bridge on q35; 'integrated' ones sit on the root bus at a
 * fixed slot; 'root-port' is a pcie-root-port itself; 'builtin' devices are
 * part of the machine (their address is fixed); undefined means not on PCI.
 */
export type PciKind =
  | { kind: 'pcie' | 'pci' | 'root-port' }
  /** On the root bus at the first free slot (virtio-iommu: QEMU wants it there). */
  | { kind: 'root-bus' }
  /** A pcie-switch-downstream-port: in a switch's upstream port, one per slot. */
  | { kind: 'switch-port' }
  | { kind: 'integrated' | 'builtin'; slot: number; function: number };

export interface PciDevice {
  device: Placed;
  pci: PciKind;
  /** Where it sits in the definition, for messages: "<video> #0". */
  label: string;
}

/** Every device of a definition that is on PCI, in the order ferry places them (libvirt's order). */
export function pciDevices(def: DomainDefinition, family: MachineFamily): PciDevice[] {
  const d = def.devices;
  const q35 = family === 'q35';
  const out: PciDevice[] = [];
  const add = (device: Placed, pci: PciKind | undefined, label: string): void => {
    if (pci) out.push({ device, pci, label });
  };
  for (const c of d.controllers) add(c, controllerKind(c, family), `<controller type='${c.type}' index='${c.index}'>`);
  // libvirt places filesystems right after the controllers, before the network interfaces.
  // usb-mtp ones sit on a USB port (assignUsbPorts).
  (d.filesystems ?? []).forEach((f) =>
    add(f, f.driver === 'mtp' ? undefined : f.model === 'virtio-transitional' ? { kind: 'pci' } : { kind: 'pcie' }, `<filesystem> '${f.target}'`),
  );
  // usb-net sits on a USB port (assignUsbPorts), not on PCI.
  d.interfaces.forEach((n, i) => {
    if (n.model !== 'usb-net') add(n, n.model === 'virtio' || n.model === 'e1000e' ? { kind: 'pcie' } : { kind: 'pci' }, `<interface> #${i}`);
  });
  d.sounds.forEach((s, i) => {
    if (s.model === 'sb16' || s.model === 'pcspk' || s.model === 'usb') return;
    add(
      s,
      q35 && s.model === 'ich9' && i === 0 ? { kind: 'integrated', slot: 0x1b, function: 0 } : s.model === 'virtio' ? { kind: 'pcie' } : { kind: 'pci' },
      `<sound> #${i}`,
    );
  });
  d.videos.forEach((v, i) => {
    if (v.model === 'none' || v.model === 'ramfb') return;
    if (i === 0) add(v, { kind: 'integrated', slot: q35 ? 1 : 2, function: 0 }, '<video> #0');
    else add(v, v.model === 'virtio' ? { kind: 'pcie' } : { kind: 'pci' }, `<video> #${i}`);
  });
  d.disks.forEach((k) => add(k, k.target.bus === 'virtio' ? { kind: 'pcie' } : undefined, `<disk> '${k.target.dev}'`));
  d.inputs.forEach((n, i) => add(n, n.bus === 'virtio' ? { kind: 'pcie' } : undefined, `<input> #${i}`));
  d.serials.forEach((s, i) => add(s, s.targetType === 'pci-serial' ? { kind: 'pci' } : undefined, `<serial> #${i}`));
  if (d.memballoon?.model === 'virtio') add(d.memballoon, { kind: 'pcie' }, '<memballoon>');
  d.rngs.forEach((r, i) => add(r, { kind: 'pcie' }, `<rng> #${i}`));
  d.watchdogs.forEach((w) => add(w, w.model === 'i6300esb' ? { kind: 'pci' } : undefined, `<watchdog model='${w.model}'>`));
  d.panics.forEach((p) => add(p, p.model === 'pvpanic' ? { kind: 'pci' } : undefined, `<panic model='${p.model}'>`));
  if (d.iommu?.model === 'virtio') add(d.iommu, { kind: 'root-bus' }, "<iommu model='virtio'>");
  (d.cryptos ?? []).forEach((c, i) => add(c, { kind: 'pcie' }, `<crypto> #${i}`));
  if (d.pstore) add(d.pstore, { kind: 'pci' }, "<pstore backend='acpi-erst'>");
  if (d.vsock) add(d.vsock, { kind: 'pcie' }, "<vsock model='virtio'>");
  // ivshmem is a conventional PCI device (libvirt: a pcie-to-pci-bridge slot on q35).
  (d.shmems ?? []).forEach((s) => add(s, { kind: 'pci' }, `<shmem> '${s.name}'`));
  (d.memories ?? []).forEach((m, i) =>
    add(m, m.model === 'virtio-mem' || m.model === 'virtio-pmem' ? { kind: 'pcie' } : undefined, `<memory model='${m.model}'> #${i}`),
  );
  return out;
}

function controllerKind(c: ControllerDefinition, family: MachineFamily): PciKind | undefined {
  const q35 = family === 'q35';
  switch (c.type) {
    case 'pci':
      if (c.model === 'pcie-root-port') return { kind: 'root-port' };
      if (c.model === 'pcie-to-pci-bridge') return { kind: 'pcie' };
      if (c.model === 'pci-bridge') return { kind: 'pci' };
      // The DMI bridge sits on pcie.0, at 1e.0 where libvirt puts it (the ICH9's own slot for it).
      if (c.model === 'dmi-to-pci-bridge') return { kind: 'integrated', slot: 0x1e, function: 0 };
      if (c.model === 'pci-expander-bus' || c.model === 'pcie-expander-bus') return { kind: 'root-bus' };
      if (c.model === 'pcie-switch-upstream-port') return { kind: 'pcie' };
      if (c.model === 'pcie-switch-downstream-port') return { kind: 'switch-port' };
      return undefined; // the root bus itself
    case 'usb':
      if (c.model === 'none') return undefined;
      if (c.model === 'qemu-xhci' || c.model === 'nec-xhci') return { kind: 'pcie' };
      if (!q35 && c.index === 0 && (c.model === undefined || c.model === 'piix3-uhci')) return { kind: 'builtin', slot: 1, function: 2 };
      return { kind: 'pci' };
    case 'sata':
      return q35 && c.index === 0 ? { kind: 'builtin', slot: 0x1f, function: 2 } : { kind: 'pci' };
    case 'ide':
      return q35 ? undefined : { kind: 'builtin', slot: 1, function: 1 };
    case 'scsi':
      return c.model === 'lsilogic' ? { kind: 'pci' } : { kind: 'pcie' };
    case 'virtio-serial':
      return { kind: 'pcie' };
    case 'ccid': // a USB device
    case 'fdc':
      return undefined;
  }
}
