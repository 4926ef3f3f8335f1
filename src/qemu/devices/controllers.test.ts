import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { controllerArgs } from './controllers.js';
import { withAliases } from '../../vm/device-aliases.js';

describe('controllerArgs()', () => {
  it('puts each PCI controller after the one whose bus it sits on, whatever their indexes', () => {
    // A conventional-PCI NIC on q35 gets a pcie-to-pci-bridge (index 1) in a root port with a higher index.
    const def = withAliases(
      parseDomainXml(`<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory>
      <os><type machine='q35'>hvm</type></os><devices><interface type='user'><model type='rtl8139'/></interface></devices></domain>`),
      true,
    );
    const devices = controllerArgs(def, true).filter((a) => a.includes('id=pci.'));
    const seen = new Set<string>(['pcie.0']);
    for (const d of devices) {
      const bus = /bus=([^,]+)/.exec(d)?.[1];
      assert.ok(bus === undefined || seen.has(bus), `${d} comes before its bus ${bus}`);
      seen.add(/id=([^,]+)/.exec(d)?.[1] as string);
    }
    assert.ok(
      devices.some((d) => d.startsWith('pcie-pci-bridge')),
      devices.join('\n'),
    );
  });
});
