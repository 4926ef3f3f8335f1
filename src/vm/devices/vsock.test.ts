import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vsockArgs } from '../../qemu/devices/vsock.js';
import { parseDomainXml } from '../parse-domain-xml.js';
import { renderDomainXml } from '../render-domain-xml.js';
import { withVsockCid } from './vsock.js';

const wrap = (devices: string, machine = 'q35'): string =>
  `<domain type='qemu'><name>v</name><memory>131072</memory><os><type machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`;

describe('<vsock>', () => {
  it('keeps a fixed or auto CID through dumpxml, on a PCIe port of q35, named vsock0', () => {
    const fixed = parseDomainXml(wrap("<vsock model='virtio'><cid auto='no' address='4'/></vsock>"));
    assert.equal(fixed.devices.vsock?.cid, 4);
    assert.equal(fixed.devices.vsock?.cidAuto, false);
    assert.equal(fixed.devices.vsock?.address?.type, 'pci');
    assert.deepEqual(parseDomainXml(renderDomainXml(fixed)), fixed);
    const auto = parseDomainXml(wrap("<vsock model='virtio'><cid auto='yes'/></vsock>", 'pc'));
    assert.equal(auto.devices.vsock?.cid, undefined);
    assert.match(renderDomainXml(auto), /<cid auto='yes'\/>/);
  });

  it('refuses a missing CID, the reserved ones and a second vsock', () => {
    assert.throws(() => parseDomainXml(wrap("<vsock model='virtio'/>")), /needs <cid auto='yes'\/> or <cid address='N'\/>/);
    assert.throws(() => parseDomainXml(wrap("<vsock model='virtio'><cid address='2'/></vsock>")), /guest CID 2 is outside 3\.\./);
    assert.throws(
      () => parseDomainXml(wrap("<vsock model='virtio'><cid auto='yes'/></vsock><vsock model='virtio'><cid auto='yes'/></vsock>")),
      /only one <vsock>/,
    );
  });

  it("gives QEMU the CID acquired at start and ferryd's descriptor, as libvirt's vhost-vsock-pci", () => {
    const def = parseDomainXml(wrap("<vsock model='virtio'><cid auto='yes'/></vsock>", 'pc'));
    assert.throws(() => vsockArgs(def.devices.vsock as NonNullable<typeof def.devices.vsock>, 9, false), /no guest CID yet/);
    const live = withVsockCid(def, 42);
    assert.equal(def.devices.vsock?.cid, undefined, 'the definition itself is not changed');
    const args = vsockArgs({ ...(live.devices.vsock as NonNullable<typeof live.devices.vsock>), alias: 'vsock0' }, 9, false);
    assert.equal(args[0], '-device');
    assert.match(args[1] ?? '', /^vhost-vsock-pci,id=vsock0,guest-cid=42,vhostfd=9,bus=pci\.0,addr=0x\w+$/);
    assert.match(renderDomainXml(live), /<cid auto='yes' address='42'\/>/);
  });
});
