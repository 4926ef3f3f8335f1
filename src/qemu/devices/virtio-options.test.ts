import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { withAliases } from '../../vm/device-aliases.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { buildQemuArgv } from '../argv.js';

const FIXTURES = new URL('../../../../test/fixtures/libvirt-qemuxml/', import.meta.url);
const PATHS = { fileDir: '/run/m', hugepageMounts: {}, defaultHugepageKiB: 2048 };

/** libvirt's -device arguments for `driver`, the JSON written as QEMU's key=value form. */
function libvirtDevices(name: string, driver: string): string[] {
  const text = readFileSync(new URL(`${name}.x86_64-latest.args`, FIXTURES), 'utf8');
  return [...text.matchAll(/-device '(\{[^']*\})'/g)].flatMap((m) => {
    const { driver: d, ...props } = JSON.parse(m[1] as string) as Record<string, unknown>;
    if (d !== driver) return [];
    return [[d, ...Object.entries(props).map(([k, v]) => `${k}=${v === true ? 'on' : v === false ? 'off' : String(v)}`)].join(',')];
  });
}

describe("virtio options (<driver iommu ats packed>): argv against libvirt's .args", () => {
  const cases: Array<[string, string]> = [];
  for (const opt of ['ats', 'iommu', 'packed']) {
    cases.push(
      [`virtio-options-rng-${opt}`, 'virtio-rng-pci'],
      [`virtio-options-memballoon-${opt}`, 'virtio-balloon-pci'],
      [`virtio-options-input-${opt}`, 'virtio-mouse-pci'],
    );
  }
  for (const [name, driver] of cases) {
    it(`${name}: ${driver}`, () => {
      const def = parseDomainXml(readFileSync(new URL(`${name}.x86_64-latest.xml`, FIXTURES), 'utf8'));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const argv = buildQemuArgv({
        def: withAliases(def, false),
        accel: 'tcg',
        machine: 'pc-i440fx-10.0',
        qmpSocket: '/q',
        pidfile: '/p',
        resolveDisk: () => ({ kind: 'empty' }),
        tapFds: [],
        memoryPaths: PATHS,
      });
      const mine = argv.filter((a, i) => argv[i - 1] === '-device' && a.startsWith(`${driver},`));
      const expected = libvirtDevices(name, driver);
      assert.ok(expected.length > 0 && /(ats|iommu_platform|packed)=/.test(expected.join()), `${name}.args has no ${driver} with a virtio option`);
      assert.deepEqual(mine, expected);
    });
  }

  // Disks, NICs and virtio controllers: ferry orders their other properties its own way (and names disks disk-vda); the
  // virtio options of each device, in device order, are libvirt's.
  const optionsById = (devices: string[]): string[][] => devices.map((d) => d.split(',').filter((p) => /^(iommu_platform|ats|packed|page-per-vq)=/.test(p)));
  const more: Array<[string, string[]]> = [];
  for (const opt of ['ats', 'iommu', 'packed']) {
    more.push(
      [`virtio-options-disk-${opt}`, ['virtio-blk-pci']],
      [`virtio-options-net-${opt}`, ['virtio-net-pci']],
      [`virtio-options-controller-${opt}`, ['virtio-scsi-pci', 'virtio-serial-pci']],
    );
  }
  for (const [name, drivers] of more) {
    it(`${name}: ${drivers.join(', ')}`, () => {
      const def = parseDomainXml(readFileSync(new URL(`${name}.x86_64-latest.xml`, FIXTURES), 'utf8'));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const argv = buildQemuArgv({
        def: withAliases(def, false),
        accel: 'tcg',
        machine: 'pc-i440fx-10.0',
        qmpSocket: '/q',
        pidfile: '/p',
        resolveDisk: () => ({ kind: 'file', path: '/x' }),
        tapFds: def.devices.interfaces.map(() => 3),
        memoryPaths: PATHS,
      });
      for (const driver of drivers) {
        const expected = optionsById(libvirtDevices(name, driver));
        assert.ok(
          expected.some((o) => o.length > 0),
          `${name}.args has no ${driver} with a virtio option`,
        );
        assert.deepEqual(optionsById(argv.filter((a, i) => argv[i - 1] === '-device' && a.startsWith(`${driver},`))), expected);
      }
    });
  }
});
