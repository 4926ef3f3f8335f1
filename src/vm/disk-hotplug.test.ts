import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { diskFromSpec, placeHotplugDisk, withAddedDisk, withMedium } from './disk-hotplug.js';
import { parseDomainXml } from './parse-domain-xml.js';

const q35 = (devices: string): ReturnType<typeof parseDomainXml> =>
  parseDomainXml(`<domain type='kvm'><name>h</name><memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`);

describe('disk hot-plug planning', () => {
  it('puts a hot-plugged virtio disk into a spare pcie-root-port, and refuses when none is free', () => {
    const spare = q35("<controller type='pci' model='pcie-root-port'/>".repeat(4));
    const placed = placeHotplugDisk(spare, diskFromSpec({ source: '/x.raw', target: 'vdb' }));
    assert.equal(placed.address?.type, 'pci');
    const port = spare.devices.controllers.find((c) => c.type === 'pci' && c.index === (placed.address as { bus: number }).bus);
    assert.equal(port?.model, 'pcie-root-port');
    assert.ok(!spare.devices.controllers.some((c) => c.address?.type === 'pci' && c.address.bus === port?.index), 'the port was free');
    const full = withAddedDisk(spare, placed);
    const second = placeHotplugDisk(full, diskFromSpec({ source: '/y.raw', target: 'vdc' }));
    assert.notEqual((second.address as { bus: number }).bus, (placed.address as { bus: number }).bus);
    const none = q35('');
    assert.throws(
      () => placeHotplugDisk(none, diskFromSpec({ source: '/x.raw', target: 'vdb' })),
      (e: unknown) => e instanceof FerryError && e.code === 'DISK_NO_HOTPLUG_SLOT',
    );
  });

  it('gives a SCSI disk the next LUN and a USB disk a free port; refuses SATA', () => {
    const def = q35("<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>");
    assert.deepEqual(placeHotplugDisk(def, diskFromSpec({ source: '/b', target: 'sdb' })).address, {
      type: 'drive',
      controller: 0,
      bus: 0,
      target: 0,
      unit: 1,
    });
    assert.deepEqual(placeHotplugDisk(def, diskFromSpec({ source: '/c', target: 'sdc', bus: 'usb' })).address, { type: 'usb', bus: 0, port: '1' });
    assert.throws(() => placeHotplugDisk(def, diskFromSpec({ source: '/d', target: 'sdd', bus: 'sata' })), /disk bus 'sata' cannot be hotplugged/);
  });

  it('refuses a target that exists and a bad option, with virsh wording', () => {
    const def = q35("<disk type='file'><source file='/a'/><target dev='vda'/></disk>");
    assert.throws(() => withAddedDisk(def, diskFromSpec({ source: '/b', target: 'vda' })), /target vda already exists/);
    assert.throws(() => diskFromSpec({ source: '/b', target: 'vdb', mode: 'exclusive' }), /No support for exclusive in command 'attach-disk'/);
  });

  it('swaps a cdrom medium in the definition and refuses a hard disk', () => {
    const def = q35("<disk type='file' device='cdrom'><target dev='sdb' bus='sata'/></disk><disk type='file'><source file='/a'/><target dev='vda'/></disk>");
    assert.deepEqual(withMedium(def, 'sdb', '/m.iso').devices.disks[0]?.source, { file: '/m.iso' });
    assert.deepEqual(withMedium(withMedium(def, 'sdb', '/m.iso'), 'sdb', undefined).devices.disks[0]?.source, {});
    assert.throws(() => withMedium(def, 'vda', '/m.iso'), /is not a cdrom or floppy/);
  });
});
