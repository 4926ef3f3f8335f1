import type { DomainDefinition } from '../../vm/definition.js';
import { usbRedirFilter } from '../../vm/devices/misc-devices.js';
import { virtioOptionProps } from '../../vm/devices/virtio-options.js';
import { chardevArgs } from './chardev.js';
import { device, escapeOpt, pciProps, usbProps } from './device-props.js';

/** USB redirection, RNG, watchdog, balloon and panic devices. */
export function miscDeviceArgs(def: DomainDefinition, q35: boolean): string[] {
  const d = def.devices;
  const out: string[] = [];
  for (const r of d.redirdevs) {
    const id = `char${r.alias}`;
    const filter = d.redirfilter && d.redirfilter.length > 0 ? `filter=${usbRedirFilter(d.redirfilter)}` : undefined;
    out.push(
      ...chardevArgs(id, r, 'usbredir'),
      ...device('usb-redir', [
        `chardev=${id}`,
        `id=${r.alias}`,
        r.bootOrder === undefined ? undefined : `bootindex=${r.bootOrder}`,
        filter,
        ...usbProps(r.address),
      ]),
    );
  }
  for (const r of d.rngs) {
    const obj = `obj${r.alias}`;
    const b = r.backend;
    if (b.model === 'random') out.push('-object', `rng-random,id=${obj},filename=${escapeOpt(b.path)}`);
    else if (b.model === 'builtin') out.push('-object', `rng-builtin,id=${obj}`);
    else out.push(...chardevArgs(`char${r.alias}`, b), '-object', `rng-egd,id=${obj},chardev=char${r.alias}`);
    out.push(
      ...device('virtio-rng-pci', [
        ...virtioOptionProps(r.virtio),
        `rng=${obj}`,
        `id=${r.alias}`,
        r.rateBytes === undefined ? undefined : `max-bytes=${r.rateBytes}`,
        r.rateBytes === undefined ? undefined : `period=${r.ratePeriod ?? 1000}`,
        ...pciProps(r.address, q35),
      ]),
    );
  }
  for (const w of d.watchdogs) {
    if (w.model === 'i6300esb') out.push(...device('i6300esb', [`id=${w.alias}`, ...pciProps(w.address, q35)]));
    else if (w.model === 'ib700') out.push(...device('ib700', [`id=${w.alias}`]));
    else out.push('-global', 'ICH9-LPC.noreboot=off'); // iTCO is part of ICH9; QEMU leaves it unable to reset unless told
  }
  // One action for every watchdog (define refuses watchdogs that differ), as libvirt passes it.
  const action = d.watchdogs[0]?.action;
  // 'dump': QEMU pauses the guest, ferryd writes its core dump and lets it run on (libvirt's way; QEMU has no dump action).
  if (action !== undefined) out.push('-watchdog-action', action === 'dump' ? 'pause' : action);
  const b = d.memballoon;
  if (b?.model === 'virtio') {
    out.push(
      ...device('virtio-balloon-pci', [
        ...virtioOptionProps(b.virtio),
        `id=${b.alias}`,
        b.autodeflate === undefined ? undefined : `deflate-on-oom=${b.autodeflate ? 'on' : 'off'}`,
        b.freePageReporting === undefined ? undefined : `free-page-reporting=${b.freePageReporting ? 'on' : 'off'}`,
        ...pciProps(b.address, q35),
      ]),
    );
  }
  for (const p of d.panics) {
    if (p.model === 'isa') out.push(...device('pvpanic', []));
    if (p.model === 'pvpanic') out.push(...device('pvpanic-pci', [`id=${p.alias}`, ...pciProps(p.address, q35)]));
  }
  return out;
}
