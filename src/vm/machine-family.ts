/** The two x86 machine families ferry runs: q35 (PCIe, ICH9) and i440fx (`pc`, PCI, PIIX3). */
export type MachineFamily = 'q35' | 'i440fx';

/** `q35`, `pc-q35-10.0` → q35; `pc`, `pc-i440fx-*` or none (QEMU's default on x86) → i440fx. */
export function machineFamily(machine: string | undefined): MachineFamily {
  return machine !== undefined && /(^|-)q35(-|$)/.test(machine) ? 'q35' : 'i440fx';
}
