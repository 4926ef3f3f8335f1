import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { unmigratableDevicesCheck } from './source-checks.js';

const domain = (devices: string): ReturnType<typeof parseDomainXml> =>
  parseDomainXml(
    `<domain type='qemu'><name>s</name><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${devices}</devices></domain>`,
  );

describe("unmigratableDevicesCheck(): libvirt's and QEMU's refusals, before anything moves", () => {
  it("only a <shmem> with role='master' migrates live; a peer or one without a role is refused by name", () => {
    assert.equal(unmigratableDevicesCheck(domain("<shmem name='m' role='master'><model type='ivshmem-plain'/></shmem>"), true, 'kvm').outcome, 'pass');
    const r = unmigratableDevicesCheck(
      domain(
        "<shmem name='m' role='master'><model type='ivshmem-plain'/></shmem><shmem name='p' role='peer'><model type='ivshmem-plain'/></shmem><shmem name='d'><model type='ivshmem-doorbell'/><server path='/run/x'/></shmem>",
      ),
      true,
      'kvm',
    );
    assert.equal(r.outcome, 'fail');
    assert.equal(
      r.reason,
      "shmem device 'p' cannot be migrated, only shmem with role='master' can be migrated; shmem device 'd' cannot be migrated, only shmem with role='master' can be migrated",
    );
    assert.equal(r.overridable, false);
  });
  it('usb-mtp is refused live (QEMU marks it unmigratable); offline, both are allowed', () => {
    const def = domain(
      "<filesystem type='mount'><driver type='mtp'/><source dir='/tmp'/><target dir='media'/></filesystem><shmem name='p' role='peer'><model type='ivshmem-plain'/></shmem>",
    );
    const live = unmigratableDevicesCheck(def, true, 'kvm');
    assert.equal(live.outcome, 'fail');
    assert.match(live.reason, /<filesystem> 'media' \(usb-mtp\) cannot be migrated/);
    assert.match(live.hint ?? '', /--offline --persistent/);
    assert.equal(unmigratableDevicesCheck(def, false, 'tcg').outcome, 'pass');
  });
  it('under TCG a master <shmem> is refused live too (QEMU 10.0 aborts the source migrating ivshmem memory), naming it', () => {
    const r = unmigratableDevicesCheck(domain("<shmem name='m' role='master'><model type='ivshmem-plain'/></shmem>"), true, 'tcg');
    assert.equal(r.outcome, 'fail');
    assert.match(r.reason, /^shmem device 'm' cannot be migrated under TCG: .*tlb_reset_dirty_range_all.*it migrates under KVM$/);
  });
});
