import type { DomainDefinition } from './definition.js';
import { type MachineFamily, machineFamily } from './machine-family.js';
import { childStep, type DefineProblem } from './schema/element-rule.js';
import { diskProblems } from './devices/disk.js';
import { iommuProblems } from './devices/iommu.js';
import { smartcardProblems } from './devices/smartcard.js';
import { pciDevices } from './pci-kind.js';

/**
 * What a machine type cannot hold, named per device: an IDE disk on q35 (ICH9
 * has no IDE; QEMU refuses it), PCIe controllers on i440fx, and so on.
 */
export function placementProblems(def: DomainDefinition): DefineProblem[] {
  const family = machineFamily(def.os.machine);
  const machine = def.os.machine ?? 'pc';
  const out: DefineProblem[] = [...diskProblems(def)];
  if (def.os.machine !== undefined && !isPcOrQ35(def.os.machine)) {
    out.push({ path: '/domain/os/type/@machine', message: `machine '${def.os.machine}' is not supported (ferry runs q35 and pc (i440fx) machines)` });
  }
  if (def.os.machine === 'isapc') out.push(...isaOnlyProblems(def));
  if (def.platform.tsegMiB !== undefined && family !== 'q35')
    out.push({ path: '/domain/features/smm/tseg', message: `SMM TSEG is only supported with q35 machine type, not ${machine}` });
  def.devices.disks.forEach((d, i) => {
    if (d.target.bus === 'ide' && family === 'q35') {
      out.push({
        path: `/domain/devices/${childStep('disk', i, def.devices.disks.length)}/target/@bus`,
        device: `<disk> '${d.target.dev}'`,
        message: `bus 'ide' is not supported on machine ${machine}; use 'sata'`,
      });
    }
  });
  def.devices.controllers.forEach((c, i) => {
    const device = `<controller type='${c.type}' index='${c.index}'>`;
    const step = childStep('controller', i, def.devices.controllers.length);
    const path = `/domain/devices/${step}/@model`;
    if (family === 'i440fx' && (c.model === 'pcie-root' || c.model === 'pcie-root-port' || c.model === 'pcie-to-pci-bridge')) {
      out.push({ path, device, message: `model '${c.model}' needs a PCIe machine (q35), not ${machine}` });
    }
    const q35Only = ['dmi-to-pci-bridge', 'pcie-expander-bus', 'pcie-switch-upstream-port', 'pcie-switch-downstream-port'];
    if (family === 'i440fx' && q35Only.includes(c.model ?? ''))
      out.push({ path, device, message: `model '${c.model}' needs a PCIe machine (q35), not ${machine}` });
    if (family === 'q35' && c.model === 'pci-expander-bus')
      out.push({ path, device, message: `model 'pci-expander-bus' is for i440fx; q35 has 'pcie-expander-bus'` });
    if ((c.model === 'pci-expander-bus' || c.model === 'pcie-expander-bus') && c.busNr === undefined) {
      out.push({
        path: `/domain/devices/${step}/target`,
        device,
        message: "an expander bus needs its bus number: <target busNr='254'/> (the highest free, counting down)",
      });
    }
    if (c.numaNode !== undefined && c.model !== 'pci-expander-bus' && c.model !== 'pcie-expander-bus') {
      out.push({ path: `/domain/devices/${step}/target/node`, device, message: '<node> is for expander buses (pci-expander-bus, pcie-expander-bus)' });
    }
    if (family === 'q35' && c.model === 'pci-root') out.push({ path, device, message: `model 'pci-root' is i440fx's root bus; q35 has 'pcie-root'` });
    if (family === 'q35' && c.type === 'ide') out.push({ path: `/domain/devices/${step}`, device, message: `q35 has no IDE controller; use 'sata'` });
    if (c.type === 'sata' && c.index > 0 && family === 'q35')
      out.push({ path, device, message: 'ferry runs the one built-in SATA controller of q35 (index 0)' });
    if (c.type === 'fdc' && c.index > 0) out.push({ path, device, message: 'an x86 machine has one floppy controller (index 0)' });
    if (c.type === 'ide' && c.index > 0) out.push({ path, device, message: 'ferry runs the one built-in IDE controller of i440fx (index 0)' });
  });
  out.push(...watchdogProblems(def, family, machine));
  out.push(...iommuProblems(def, family));
  out.push(...smartcardProblems(def));
  (def.devices.parallels ?? []).forEach((x, i, all) => {
    if (x.targetPort > 2)
      out.push({
        path: `/domain/devices/${childStep('parallel', i, all.length)}/target/@port`,
        device: `<parallel> #${i}`,
        message: `port ${x.targetPort}: an x86 machine has 3 parallel ports (0-2)`,
      });
  });
  // A SPICE port (<serial>/<console type='spiceport'>) is opened by a SPICE client: QEMU needs -spice for it.
  for (const [name, list] of [
    ['serial', def.devices.serials],
    ['console', def.devices.consoles],
  ] as const) {
    list.forEach((c, i) => {
      if (c.type === 'spiceport' && !def.devices.graphics.some((g) => g.type === 'spice')) {
        out.push({
          path: `/domain/devices/${childStep(name, i, list.length)}/@type`,
          device: `<${name}> #${i}`,
          message: "type 'spiceport' is a port SPICE clients open, and there is no <graphics type='spice'>; add one or use type 'pty' or 'unix'",
        });
      }
    });
  }
  // A D-Bus channel (serial, console, channel, redirdev type='dbus') and D-Bus audio are exported by the D-Bus display
  // (QEMU starts a dbus chardev without one, which no client can then reach).
  const dbus = def.devices.graphics.some((g) => g.type === 'dbus');
  for (const [name, list] of [
    ['serial', def.devices.serials],
    ['console', def.devices.consoles],
    ['channel', def.devices.channels],
    ['redirdev', def.devices.redirdevs],
  ] as const) {
    list.forEach((c, i) => {
      if (c.type === 'dbus' && !dbus)
        out.push({
          path: `/domain/devices/${childStep(name, i, list.length)}/@type`,
          device: `<${name}> #${i}`,
          message: "type 'dbus' is a channel of the D-Bus display, and there is no <graphics type='dbus'>; add one or use another type",
        });
    });
  }
  // QEMU has one stdout: a second stdio chardev fails at start ("cannot use stdio by multiple character devices").
  const virtioConsoles = def.devices.consoles.filter((c) => c.targetType === 'virtio');
  const stdio = [
    ...def.devices.serials.map((s, i) => ['serial', s, i, def.devices.serials.length] as const),
    ...def.devices.consoles.map((c, i) => ['console', c, i, def.devices.consoles.length] as const),
  ].filter(([name, c]) => c.type === 'stdio' && (name === 'serial' || virtioConsoles.includes(c as never)));
  for (const [name, , i, n] of stdio.slice(1)) {
    out.push({
      path: `/domain/devices/${childStep(name, i, n)}/@type`,
      device: `<${name}> #${i}`,
      message: "a second type 'stdio' device: QEMU has one standard output (the domain log) for one stdio character device",
    });
  }
  def.devices.audios.forEach((a, i) => {
    if (a.type === 'dbus' && !dbus) {
      out.push({
        path: `/domain/devices/audio[${i + 1}]/@type`,
        device: `<audio id='${a.id}'>`,
        message: "type 'dbus' plays through the D-Bus display, and there is no <graphics type='dbus'>; add one or use type 'none'",
      });
    }
  });
  def.devices.graphics.forEach((g, i) => {
    if (g.type === 'dbus' && g.audioId !== undefined && !def.devices.audios.some((a) => a.id === g.audioId && a.type === 'dbus')) {
      out.push({
        path: `/domain/devices/${childStep('graphics', i, def.devices.graphics.length)}/audio/@id`,
        device: "<graphics type='dbus'>",
        message: `<audio id='${g.audioId}'>: the D-Bus display exports an <audio type='dbus'> backend, and there is none with id ${g.audioId}`,
      });
    }
  });
  def.devices.audios.forEach((a, i) => {
    if (a.type === 'spice' && !def.devices.graphics.some((g) => g.type === 'spice')) {
      out.push({
        path: `/domain/devices/audio[${i + 1}]/@type`,
        device: `<audio id='${a.id}'>`,
        message:
          "type 'spice' plays through SPICE graphics, and there is no <graphics type='spice'> (QEMU: Cannot use spice audio without -spice); use type 'none'",
      });
    }
  });
  return out;
}

/** iTCO is part of q35's ICH9 (one, never on i440fx); every watchdog of a domain fires with one action (QEMU has one). */
function watchdogProblems(def: DomainDefinition, family: MachineFamily, machine: string): DefineProblem[] {
  const out: DefineProblem[] = [];
  const first = def.devices.watchdogs[0];
  def.devices.watchdogs.forEach((w, i) => {
    const device = `<watchdog model='${w.model}'>`;
    if (w.model === 'itco' && family !== 'q35') {
      out.push({
        path: `/domain/devices/watchdog[${i + 1}]/@model`,
        device,
        message: `model 'itco' is part of q35's ICH9 chipset, not of ${machine}; use 'i6300esb' or 'ib700'`,
      });
    }
    if (w.model === 'itco' && def.devices.watchdogs.findIndex((x) => x.model === 'itco') !== i) {
      out.push({ path: `/domain/devices/watchdog[${i + 1}]`, device, message: 'the machine has one iTCO watchdog' });
    }
    if (first && w.action !== first.action) {
      out.push({
        path: `/domain/devices/watchdog[${i + 1}]/@action`,
        device,
        message: `action '${w.action}' differs from the first watchdog's '${first.action}'; QEMU has one watchdog action`,
      });
    }
  });
  return out;
}

/** q35, pc, and their versioned names (pc-q35-10.0, pc-i440fx-9.2, pc-1.3). */
/**
 * isapc is a PC without PCI: every device that sits on PCI (virtio, NICs,
 * USB controllers, a PCI video...) is refused by name, and so is the balloon
 * libvirt would add (virtio-balloon-pci) unless <memballoon model='none'/> says otherwise.
 */
function isaOnlyProblems(def: DomainDefinition): DefineProblem[] {
  const path = '/domain/os/type/@machine';
  const out: DefineProblem[] = pciDevices(def, 'i440fx').map((p) => ({
    path,
    device: p.label.replace(" index='-1'", ''),
    message: "machine 'isapc' has no PCI bus, which this device needs (use machine 'pc' or 'q35')",
  }));
  if (!def.devices.memballoon)
    out.push({ path, device: '<memballoon>', message: "machine 'isapc' has no PCI bus for the default virtio balloon: add <memballoon model='none'/>" });
  return out;
}

function isPcOrQ35(machine: string): boolean {
  return /^(q35|pc|pc-q35-[\d.]+|pc-i440fx-[\d.]+|pc-[\d.]+|isapc)$/.test(machine);
}
