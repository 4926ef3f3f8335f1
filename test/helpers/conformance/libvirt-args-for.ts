import { child, type XmlElement } from '../../../src/shared/xml.js';
import { labelledDevices } from './device-label.js';
import { devicesOnArgv } from './devices-on-argv.js';
import type { QemuArg } from './qemu-args.js';

/**
 * The arguments of libvirt's command line that stand for one device (its
 * front end and the back ends it names) or for one element outside <devices>:
 * what the report shows next to each reason, so the shape of the XML and the
 * QEMU argument it must become sit side by side.
 */
export function libvirtArgsForDevice(domain: XmlElement, argv: readonly QemuArg[], label: string): QemuArg[] {
  const found = devicesOnArgv(domain, argv).found;
  let primary = found.get(label);
  const devices = labelledDevices(domain);
  const device = devices.find((d) => d.label === label)?.device;
  if (!primary && device?.name === 'console') {
    // A serial console is its <serial>: libvirt builds the port once.
    const port = child(device, 'target')?.attrs.port ?? '0';
    const serial = devices.find((d) => d.device.name === 'serial' && (child(d.device, 'target')?.attrs.port ?? '0') === port);
    if (serial) primary = found.get(serial.label);
  }
  return primary ? withBackends(primary, argv) : [];
}

/** Properties that name another argument's id or node-name. */
const REFERENCES = new Set([
  'drive',
  'chardev',
  'netdev',
  'fsdev',
  'file',
  'memdev',
  'rng',
  'audiodev',
  'tpmdev',
  'backing',
  'data-file',
  'key-secret',
  'password-secret',
  'prealloc-context',
  'iothread',
]);

/** The argument and, following the ids it names (drive=, chardev=, netdev=, file=, ...), the back ends behind it. */
function withBackends(primary: QemuArg, argv: readonly QemuArg[]): QemuArg[] {
  const out: QemuArg[] = [];
  const queue = [primary];
  while (queue.length > 0 && out.length < 8) {
    const a = queue.shift() as QemuArg;
    if (out.includes(a)) continue;
    out.unshift(a);
    const refs = new Set(
      Object.entries(a.props)
        .filter(([k]) => REFERENCES.has(k))
        .map(([, v]) => v),
    );
    for (const b of argv) {
      const id = b.props.id ?? b.props['node-name'];
      if (b !== a && id !== undefined && refs.has(id)) queue.push(b);
    }
  }
  return out;
}

/** Where libvirt puts what an element outside <devices> says: the options to look at, per element path. */
const TOP_LEVEL: Array<{ prefix: string; opts: string[]; objects?: RegExp; none?: string }> = [
  { prefix: 'os/bootmenu', opts: ['-boot'] },
  { prefix: 'os/bios', opts: ['-boot', '-device'] },
  { prefix: 'os/smbios', opts: ['-smbios'] },
  { prefix: 'sysinfo', opts: ['-smbios'] },
  { prefix: 'os/acpi', opts: ['-acpitable'] },
  { prefix: 'os/type', opts: ['-machine', '-cpu'] },
  { prefix: 'os', opts: ['-machine', '-bios', '-blockdev'], objects: /pflash|OVMF|edk2|nvram|VARS|CODE|fd$/ },
  { prefix: 'memoryBacking', opts: ['-machine', '-object', '-mem-prealloc', '-overcommit'], objects: /memory-backend/ },
  { prefix: 'numatune', opts: ['-object'], objects: /memory-backend/ },
  { prefix: 'cpu/numa', opts: ['-numa', '-object', '-m'], objects: /memory-backend/ },
  { prefix: 'cpu', opts: ['-cpu', '-smp'] },
  { prefix: 'maxMemory', opts: ['-m'] },
  { prefix: 'vcpu', opts: ['-smp', '-device'], objects: /-cpu$/ },
  { prefix: 'iothread', opts: ['-object'], objects: /iothread|main-loop/ },
  { prefix: 'defaultiothread', opts: ['-object'], objects: /main-loop/ },
  { prefix: 'throttlegroups', opts: ['-object'], objects: /throttle-group/ },
  { prefix: 'clock', opts: ['-rtc', '-global'] },
  { prefix: 'features', opts: ['-machine', '-cpu', '-global'] },
  { prefix: 'pm', opts: ['-global'] },
  { prefix: 'genid', opts: ['-device'], objects: /vmgenid/ },
  { prefix: 'qemu:', opts: [] },
  { prefix: 'blkiotune', opts: [], none: 'none: libvirt applies it with cgroups' },
  { prefix: 'memtune', opts: [], none: 'none: libvirt applies it with cgroups' },
  { prefix: 'cputune', opts: [], none: 'none: libvirt pins threads and sets cgroups' },
  { prefix: 'idmap', opts: [], none: 'none: an LXC setting (user namespace maps); the QEMU driver ignores it' },
  { prefix: 'seclabel', opts: [], none: 'none: a security label on the QEMU process' },
];

export function libvirtArgsForSetting(path: string, element: XmlElement | undefined, argv: readonly QemuArg[]): { args: QemuArg[]; note?: string } {
  const rule = TOP_LEVEL.find((t) => path.startsWith(t.prefix));
  if (rule?.none) return { args: [], note: rule.none };
  const values = element ? distinctValues(element) : [];
  const args = argv.filter((a) => {
    const mentioned = values.some((v) => a.value.includes(v));
    if (!rule) return mentioned;
    if (!rule.opts.includes(a.opt)) return mentioned;
    if ((a.opt === '-object' || a.opt === '-device' || a.opt === '-blockdev') && rule.objects)
      return rule.objects.test(a.driver) || mentioned || rule.objects.test(a.value);
    return (a.opt !== '-device' && a.opt !== '-object' && a.opt !== '-blockdev') || mentioned;
  });
  return { args: args.slice(0, 8) };
}

/** Attribute values and texts of an element specific enough to find in a command line (paths, names; not '0' or 'yes'). */
function distinctValues(e: XmlElement): string[] {
  const out = new Set<string>();
  const walk = (x: XmlElement): void => {
    for (const v of [...Object.values(x.attrs), x.text]) if (v.length >= 5 && !/^(yes|no|on|off|true|false|\d+)$/.test(v)) out.add(v);
    x.children.forEach(walk);
  };
  walk(e);
  return [...out];
}

/** An argument as it reads on the command line, cut to `max` characters. */
export function showArg(a: QemuArg, max = 240): string {
  const s = a.value === '' ? a.opt : `${a.opt} ${a.value}`;
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
