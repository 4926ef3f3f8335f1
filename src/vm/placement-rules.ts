import type { DomainDefinition } from './definition.js';
import { machineFamily } from './machine-family.js';
import type { DefineProblem } from './schema/element-rule.js';

/**
 * What a machine type cannot hold, named per device: an IDE disk on q35 (ICH9
 * has no IDE; QEMU refuses it), PCIe controllers on i440fx, and so on.
 */
export function placementProblems(def: DomainDefinition): DefineProblem[] {
  const family = machineFamily(def.os.machine);
  const machine = def.os.machine ?? 'pc';
  const out: DefineProblem[] = [];
  def.devices.disks.forEach((d, i) => {
    if (d.target.bus === 'ide' && family === 'q35') {
      out.push({ path: `/domain/devices/disk[${i + 1}]/target/@bus`, device: `<disk> '${d.target.dev}'`, message: `bus 'ide' is not supported on machine ${machine}; use 'sata'` });
    }
  });
  def.devices.controllers.forEach((c, i) => {
    const device = `<controller type='${c.type}' index='${c.index}'>`;
    const path = `/domain/devices/controller[${i + 1}]/@model`;
    if (family === 'i440fx' && (c.model === 'pcie-root' || c.model === 'pcie-root-port' || c.model === 'pcie-to-pci-bridge')) {
      out.push({ path, device, message: `model '${c.model}' needs a PCIe machine (q35), not ${machine}` });
    }
    if (family === 'q35' && c.model === 'pci-root') out.push({ path, device, message: `model 'pci-root' is i440fx's root bus; q35 has 'pcie-root'` });
    if (family === 'q35' && c.type === 'ide') out.push({ path: `/domain/devices/controller[${i + 1}]`, device, message: `q35 has no IDE controller; use 'sata'` });
    if (c.type === 'sata' && c.index > 0 && family === 'q35') out.push({ path, device, message: 'ferry runs the one built-in SATA controller of q35 (index 0)' });
    if (c.type === 'ide' && c.index > 0) out.push({ path, device, message: "ferry runs the one built-in IDE controller of i440fx (index 0)" });
    if (c.model === 'ich9-ehci1' || c.model?.startsWith('ich9-uhci')) {
      // companions are placed with their EHCI master
    }
  });
  return out;
}
