import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import type { CommandRunner } from '../storage/command-runner.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { leasesFor, pathHash } from './lease-resources.js';
import { VolumeUuids } from './volume-uuid.js';

const def = (disks: string) =>
  parseDomainXml(`<domain type='kvm'><name>v</name><memory>131072</memory><os><type>hvm</type></os><devices>${disks}</devices></domain>`);
const noLvm: CommandRunner = async () => {
  throw new Error('not an LV');
};

describe('leasesFor()', () => {
  const dir = tempDir('ferry-leases-');
  const img = `${dir.path}/vm.qcow2`;
  writeFileSync(img, '');
  writeFileSync(`${img}.iso`, '');
  const disks = `<disk type='file'><source file='${img}'/><target dev='vda'/></disk>
    <disk type='file'><source file='${img}.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
    <disk type='network'><source protocol='nbd' name='x'><host name='h'/></source><target dev='vdc'/></disk>
    <disk type='file'><source file='${dir.path}/not-created-yet.qcow2'/><target dev='vdd'/></disk>`;
  const resolve = (d: { source: { file?: string } }) => d.source.file;
  const uuids = new VolumeUuids(noLvm);

  it('locks the image itself by default: exclusive for writable disks, shared for read-only, none for network or missing images', async () => {
    const leases = await leasesFor(def(disks), { autoDiskLeases: true, requireLeaseForDisks: false }, { uuids, resolveDisk: resolve });
    assert.deepEqual(
      leases.map((l) => [l.disk, l.mode, l.resource === l.path, l.label]),
      [
        ['vda', 'exclusive', true, img],
        ['sda', 'shared', true, `${img}.iso`],
      ],
    );
  });

  it('names lock files by the sha256 of the canonical path in file_lockspace_dir (two paths to one file collide)', async () => {
    const link = `${dir.path}/other-name.qcow2`;
    symlinkSync(img, link);
    const cfg = { autoDiskLeases: true, requireLeaseForDisks: false, fileLockspaceDir: '/ls' };
    const a = await leasesFor(def(`<disk type='file'><source file='${img}'/><target dev='vda'/></disk>`), cfg, { uuids, resolveDisk: resolve });
    const b = await leasesFor(def(`<disk type='file'><source file='${link}'/><target dev='vda'/></disk>`), cfg, { uuids, resolveDisk: resolve });
    assert.equal(a[0]?.resource, `/ls/${pathHash(img)}`);
    assert.equal(a[0]?.label, pathHash(img));
    assert.equal(b[0]?.resource, a[0]?.resource);
  });

  it("with auto_disk_leases = 0, require_lease_for_disks refuses writable disks (libvirt's message)", async () => {
    await assert.rejects(
      leasesFor(def(disks), { autoDiskLeases: false, requireLeaseForDisks: true }, { uuids, resolveDisk: resolve }),
      (e: unknown) =>
        e instanceof FerryError && e.code === 'LOCK_CONFIG' && /Read\/write, exclusive access, disks were present, but no leases specified/.test(e.message),
    );
    assert.deepEqual(await leasesFor(def(disks), { autoDiskLeases: false, requireLeaseForDisks: false }, { uuids, resolveDisk: resolve }), []);
  });

  it('a <lease> is an exclusive lock on <target path>/<lockspace>/<key>, also without auto disk leases; a non-zero offset is refused', async () => {
    const lease = (extra: string) => `<lease><lockspace>area</lockspace><key>fox</key><target path='/leases'${extra}/></lease>`;
    const leases = await leasesFor(def(`${disks}${lease('')}`), { autoDiskLeases: true, requireLeaseForDisks: false }, { uuids, resolveDisk: resolve });
    assert.deepEqual(
      leases.map((l) => [l.disk, l.mode, l.resource, l.label]),
      [
        ['lease', 'exclusive', '/leases/area/fox', 'fox'],
        ['vda', 'exclusive', img, img],
        ['sda', 'shared', `${img}.iso`, `${img}.iso`],
      ],
    );
    // libvirt's lockd: a domain with a lease of its own meets require_lease_for_disks.
    const manual = await leasesFor(
      def(`${disks}${lease(" offset='0'")}`),
      { autoDiskLeases: false, requireLeaseForDisks: true },
      { uuids, resolveDisk: resolve },
    );
    assert.deepEqual(
      manual.map((l) => l.resource),
      ['/leases/area/fox'],
    );
    const noSpace = await leasesFor(
      def("<lease><key>fox</key><target path='/leases'/></lease>"),
      { autoDiskLeases: true, requireLeaseForDisks: false },
      { uuids, resolveDisk: resolve },
    );
    assert.deepEqual(
      noSpace.map((l) => l.resource),
      ['/leases/fox'],
    );
    await assert.rejects(
      leasesFor(def(lease(" offset='1024'")), { autoDiskLeases: true, requireLeaseForDisks: false }, { uuids, resolveDisk: resolve }),
      (e: unknown) => e instanceof FerryError && e.code === 'LOCK_LEASE_UNSUPPORTED' && /Offset must be zero for this lock manager/.test(e.message),
    );
  });
});

describe('VolumeUuids', () => {
  it('lvm() asks lvs for the LV uuid; scsi() reads the wwid from sysfs', async () => {
    const calls: string[] = [];
    const lvs: CommandRunner = async (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      return { stdout: '  Q2mK1c-7Ypd-AbCd-EfGh-IjKl-MnOp-QrStUv\n', stderr: '' };
    };
    assert.equal(await new VolumeUuids(lvs).lvm('/dev/vg0/vm1'), 'Q2mK1c-7Ypd-AbCd-EfGh-IjKl-MnOp-QrStUv');
    assert.deepEqual(calls, ['lvs --noheadings -o lv_uuid /dev/vg0/vm1']);
    assert.equal(await new VolumeUuids(noLvm).lvm('/dev/sda'), undefined);
    // A sysfs tree as the kernel lays it out for a SCSI disk (this machine has none).
    const sys = tempDir('ferry-sysfs-');
    mkdirSync(`${sys.path}/block/loop0/device`, { recursive: true });
    writeFileSync(`${sys.path}/block/loop0/device/wwid`, 'naa.5000c500a1b2c3d4\n');
    assert.equal(new VolumeUuids(noLvm, sys.path).scsi('/dev/loop0'), 'naa.5000c500a1b2c3d4', 'a block device found in sysfs by its name');
    assert.equal(new VolumeUuids(noLvm, sys.path).scsi('/etc/hostname'), undefined, 'not a block device');
  });
});
