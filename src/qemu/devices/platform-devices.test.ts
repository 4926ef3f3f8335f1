import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { buildQemuArgv } from '../argv.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/libvirt-qemuxml');

/** libvirt's -device JSON of one driver in a fixture's .args, as key=value strings (true → on). */
function libvirtDevices(name: string, driver: string): string[][] {
  const text = readFileSync(join(FIXTURES, `${name}.x86_64-latest.args`), 'utf8');
  return [...text.matchAll(/^-device '(\{.*\})' \\$/gm)]
    .map((m) => JSON.parse(m[1] as string) as Record<string, unknown>)
    .filter((j) => j.driver === driver)
    .map((j) =>
      Object.entries(j)
        .filter(([k]) => k !== 'driver')
        .map(([k, v]) => `${k}=${v === true ? 'on' : v === false ? 'off' : String(v)}`),
    );
}

/** ferry's -device arguments of one driver for the same fixture. */
function ferryDevices(name: string, driver: string): string[][] {
  // Host PCI devices (pci-rom has two beside its NICs) need host hardware: left out.
  const xml = readFileSync(join(FIXTURES, `${name}.x86_64-latest.xml`), 'utf8').replace(/<hostdev[^]*?<\/hostdev>/g, '');
  const def = parseDomainXml(xml);
  const argv = buildQemuArgv({
    def,
    accel: 'tcg',
    machine: def.os.machine === 'q35' ? 'pc-q35-10.0' : 'pc-i440fx-10.0',
    qmpSocket: '/q',
    pidfile: '/p',
    resolveDisk: (d) => ({ kind: 'file', path: d.source.file ?? '/dev/null' }),
    tapFds: def.devices.interfaces.map((_, i) => 100 + i),
  });
  return argv.flatMap((a, i) => (argv[i - 1] === '-device' && a.split(',')[0] === driver ? [a.split(',').slice(1)] : []));
}

describe("platform devices' QEMU arguments are libvirt 11's", () => {
  const cases: Array<[string, string]> = [
    ['intel-iommu-aw-bits', 'intel-iommu'],
    ['intel-iommu-caching-mode', 'intel-iommu'],
    ['intel-iommu-eim', 'intel-iommu'],
    ['intel-iommu-device-iotlb', 'intel-iommu'],
    ['intel-iommu-dma-translation', 'intel-iommu'],
    ['virtio-iommu-x86_64', 'virtio-iommu'],
    ['genid', 'vmgenid'],
    ['usb-hub', 'usb-hub'],
    ['pci-expander-bus', 'pxb'],
    ['pcie-expander-bus', 'pxb-pcie'],
    ['pcie-expander-bus', 'x3130-upstream'],
    ['pcie-switch-downstream-port', 'xio3130-downstream'],
    ['q35-pci-force-address', 'i82801b11-bridge'],
    ['q35-pci-force-address', 'pci-bridge'],
    ['smartcard-passthrough-tcp', 'usb-ccid'],
    ['smartcard-passthrough-tcp', 'ccid-card-passthru'],
    ['parallel-tcp-chardev', 'isa-parallel'],
    ['pci-rom', 'virtio-net-pci'],
    ['pci-rom-disabled', 'virtio-net-pci'],
    ['virtio-options-memballoon-packed', 'virtio-balloon-pci'],
    ['virtio-options-rng-iommu', 'virtio-rng-pci'],
    ['virtio-options-input-ats', 'virtio-keyboard-pci'],
    ['virtio-options-input-ats', 'virtio-mouse-pci'],
    ['virtio-options-controller-packed', 'virtio-serial-pci'],
    ['virtio-options-controller-packed', 'virtio-scsi-pci'],
    // Hubs added when the ports run out, where libvirt puts them, and the devices on their ports (nested hubs too).
    ['usb-hub-autoadd', 'usb-hub'],
    ['usb-hub-autoadd', 'usb-mouse'],
    ['usb-hub-autoadd', 'usb-tablet'],
    ['usb-hub-autoadd-deluxe', 'usb-hub'],
    ['usb-hub-autoadd-deluxe', 'usb-mouse'],
    ['usb-hub-autoadd-deluxe', 'usb-tablet'],
  ];
  for (const [name, driver] of cases) {
    it(`${name}: ${driver}`, () => {
      const theirs = libvirtDevices(name, driver);
      const ours = ferryDevices(name, driver);
      assert.ok(theirs.length > 0, `libvirt's ${name}.args has ${driver}`);
      assert.equal(ours.length, theirs.length, `as many ${driver} as libvirt: ${JSON.stringify(ours)}`);
      // Every property libvirt sets, with its value (ferry may add one libvirt leaves to QEMU's default, as index=).
      theirs.forEach((props, i) => {
        for (const p of props) assert.ok(ours[i]?.includes(p), `${driver} #${i}: ${p} in ${ours[i]?.join(',')}`);
      });
    });
  }

  it('pcihole64: the host bridge global, on both machines', () => {
    for (const [name, global] of [
      ['pcihole64', 'i440FX-pcihost.pci-hole64-size=1048576K'],
      ['pcihole64-q35', 'q35-pcihost.pci-hole64-size=1048576K'],
    ]) {
      const def = parseDomainXml(readFileSync(join(FIXTURES, `${name}.x86_64-latest.xml`), 'utf8'));
      const argv = buildQemuArgv({
        def,
        accel: 'tcg',
        machine: def.os.machine === 'q35' ? 'pc-q35-10.0' : 'pc-i440fx-10.0',
        qmpSocket: '/q',
        pidfile: '/p',
        resolveDisk: () => ({ kind: 'empty' }),
        tapFds: [],
      });
      assert.ok(argv.includes(global), `${name}: ${global}`);
    }
  });
});
