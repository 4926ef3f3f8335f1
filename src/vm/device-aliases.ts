import type { DomainDefinition } from './definition.js';

/** QEMU ids ferry gives disks (and their block nodes), so QMP calls can find them. */
export function diskNodeNames(dev: string): { file: string; format: string; device: string } {
  return { file: `file-${dev}`, format: `fmt-${dev}`, device: `disk-${dev}` };
}

/** The node names of layer `depth` (1 = just under the disk's source) of a disk's backing chain. */
export function backingNodeNames(dev: string, depth: number): { file: string; format: string } {
  return { file: `file-${dev}-b${depth}`, format: `fmt-${dev}-b${depth}` };
}

/** The QEMU id of a PCI controller's bus: the root bus is pcie.0 (q35) or pci.0 (i440fx), others pci.N. */
export function pciBusAlias(index: number, q35: boolean): string {
  return index === 0 ? (q35 ? 'pcie.0' : 'pci.0') : `pci.${index}`;
}

/**
 * Gives every device its QEMU id, libvirt's names where ferry has no older
 * one (net0, serial0, channel0, video0, usb, pci.1, ...). Deterministic: the
 * same definition gets the same ids on the source and the destination of a
 * migration. Returns a copy; ids already set are kept.
 */
export function withAliases(def: DomainDefinition, q35: boolean): DomainDefinition {
  const out = structuredClone(def);
  const d = out.devices;
  const set = <T extends { alias?: string }>(list: T[], name: (x: T, i: number) => string): void =>
    list.forEach((x, i) => {
      x.alias ??= name(x, i);
    });
  set(d.disks, (x) => diskNodeNames(x.target.dev).device);
  set(d.interfaces, (_x, i) => `net${i}`);
  set(d.serials, (_x, i) => `serial${i}`);
  set(d.consoles, (_x, i) => `console${i}`);
  set(d.channels, (_x, i) => `channel${i}`);
  set(d.inputs, (_x, i) => `input${i}`);
  set(d.videos, (_x, i) => `video${i}`);
  set(d.sounds, (_x, i) => `sound${i}`);
  set(d.redirdevs, (_x, i) => `redir${i}`);
  set(d.rngs, (_x, i) => `rng${i}`);
  set(d.watchdogs, (_x, i) => `watchdog${i}`);
  set(d.panics, (_x, i) => `panic${i}`);
  if (d.memballoon) d.memballoon.alias ??= 'balloon0';
  if (d.tpm) d.tpm.alias ??= 'tpm0';
  if (d.iommu) d.iommu.alias ??= 'iommu0';
  if (d.hubs) set(d.hubs, (_x, i) => `hub${i}`);
  if (d.parallels) set(d.parallels, (_x, i) => `parallel${i}`);
  if (d.smartcards) set(d.smartcards, (_x, i) => `smartcard${i}`);
  if (d.memories) set(d.memories, (x, i) => `${x.model.replace('-', '')}${i}`);
  if (d.filesystems) set(d.filesystems, (_x, i) => `fs${i}`);
  if (d.cryptos) set(d.cryptos, (_x, i) => `crypto${i}`);
  if (d.pstore) d.pstore.alias ??= 'pstore0';
  if (d.vsock) d.vsock.alias ??= 'vsock0';
  if (d.shmems) set(d.shmems, (_x, i) => `shmem${i}`);
  for (const c of d.controllers) {
    c.alias ??=
      c.type === 'pci'
        ? pciBusAlias(c.index, q35)
        : c.type === 'usb'
          ? c.index === 0
            ? 'usb'
            : `usb${c.index}`
          : c.type === 'sata'
            ? c.index === 0 && q35
              ? 'ide'
              : `sata${c.index}`
            : c.type === 'ide'
              ? 'ide'
              : `${c.type}${c.index}`;
  }
  return out;
}
