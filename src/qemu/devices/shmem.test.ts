import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { liveDefinition, portableDefinition } from '../../host/live-definition.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { filesystemArgs } from './filesystems.js';
import { shmemArgs } from './shmem.js';

const FIXTURES = new URL('../../../../test/fixtures/libvirt-qemuxml/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(`${name}.x86_64-latest.xml`, FIXTURES), 'utf8');

/** libvirt's arguments whose JSON matches `pick` (and -chardev ... of the same ids), in QEMU's key=value form. */
function libvirtArgs(name: string, pick: RegExp): string[] {
  const text = readFileSync(new URL(`${name}.x86_64-latest.args`, FIXTURES), 'utf8').replace(/ \\\n/g, ' ');
  const out: string[] = [];
  const kv = (props: Record<string, unknown>): string[] => Object.entries(props).map(([k, v]) => `${k}=${v === true ? 'on' : v === false ? 'off' : String(v)}`);
  for (const m of text.matchAll(/(-object|-device) '(\{[^']*\})'|-chardev (socket,id=charshmem\S+)/g)) {
    if (m[3] !== undefined) {
      out.push('-chardev', m[3]);
      continue;
    }
    if (!pick.test(m[2] as string)) continue;
    const json = JSON.parse(m[2] as string) as Record<string, unknown>;
    if (m[1] === '-object') {
      const { 'qom-type': type, ...props } = json;
      out.push('-object', [String(type), ...kv(props)].join(','));
    } else {
      const { driver, ...props } = json;
      out.push('-device', [String(driver), ...kv(props)].join(','));
    }
  }
  return out;
}

const input = {
  machine: 'pc-i440fx-10.0',
  serialLog: () => '/l',
  tapName: () => 't',
  networkBridge: () => 'br',
  channelSocket: () => '/c',
  graphicsPorts: [],
  // libvirt's default doorbell socket, so the argv compares with its .args (ferry's is under its state directory).
  shmemSocket: (name: string) => `/var/lib/libvirt/shmem-${name}-sock`,
};

describe("<shmem>: definition and argv against libvirt's .args", () => {
  it('shmem-plain-doorbell: ivshmem-plain on /dev/shm/NAME, doorbells with their server, master= from role', () => {
    const def = parseDomainXml(fixture('shmem-plain-doorbell'));
    assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
    const live = liveDefinition(def, input);
    const expected = libvirtArgs('shmem-plain-doorbell', /ivshmem|memory-backend-file/);
    assert.equal(expected.length, 32, 'libvirt has 3 memory objects, 8 devices and 5 chardevs');
    assert.deepEqual(shmemArgs(live, false), expected);
    // The default socket is this host's: it does not travel, and the destination fills in its own.
    const portable = portableDefinition(live, input);
    assert.deepEqual(portable.devices.shmems, def.devices.shmems);
  });

  it('mtp-usb-device: usb-mtp with rootdir, desc and readonly, on USB ports 1 and 2', () => {
    const def = parseDomainXml(fixture('mtp-usb-device'));
    assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
    assert.deepEqual(
      def.devices.filesystems?.map((f) => f.address),
      [
        { type: 'usb', bus: 0, port: '1' },
        { type: 'usb', bus: 0, port: '2' },
      ],
    );
    const live = liveDefinition(def, input);
    assert.deepEqual(filesystemArgs(live, false), libvirtArgs('mtp-usb-device', /usb-mtp/));
  });
});

const domain = (devices: string, machine = 'pc'): string =>
  `<domain type='qemu'><name>s</name><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`;

describe("<shmem>: what ferry refuses, in libvirt's words", () => {
  const refused = (devices: string, code: string, message: RegExp): void => {
    assert.throws(
      () => parseDomainXml(domain(devices)),
      (e: Error & { code?: string }) => e.code === code && message.test(e.message),
    );
  };
  it('a doorbell without a server, a plain one with a server or msi, a doorbell with a size', () => {
    refused(
      "<shmem name='a'><model type='ivshmem-doorbell'/></shmem>",
      'XML_UNSUPPORTED',
      /shmem model 'ivshmem-doorbell' is supported only with server option enabled/,
    );
    refused("<shmem name='a'><model type='ivshmem-plain'/><server/></shmem>", 'XML_UNSUPPORTED', /supported only with server option disabled/);
    refused("<shmem name='a'><model type='ivshmem-plain'/><msi/></shmem>", 'XML_UNSUPPORTED', /doesn't support msi/);
    refused("<shmem name='a'><model type='ivshmem-doorbell'/><server/><size unit='M'>4</size></shmem>", 'XML_UNSUPPORTED', /does not support size setting/);
  });
  it('sizes that are not a power of two or under 1 MiB, names with a slash, no model (the legacy ivshmem), a non-PCI address', () => {
    refused("<shmem name='a'><model type='ivshmem-plain'/><size unit='M'>3</size></shmem>", 'XML_INVALID', /power of two/);
    refused("<shmem name='a'><model type='ivshmem-plain'/><size unit='K'>512</size></shmem>", 'XML_INVALID', /at least 1 MiB/);
    refused("<shmem name='../etc'><model type='ivshmem-plain'/></shmem>", 'XML_INVALID', /must not contain '\/'/);
    refused("<shmem name='a'/>", 'XML_UNSUPPORTED', /legacy 'ivshmem'/);
    refused("<shmem name='a'><model type='ivshmem'/></shmem>", 'XML_UNSUPPORTED', /removed the legacy 'ivshmem'/);
    refused(
      "<shmem name='a'><model type='ivshmem-plain'/><address type='usb' bus='0' port='1'/></shmem>",
      'XML_UNSUPPORTED',
      /only 'pci' addresses are supported for the shared memory device/,
    );
  });
  it("a plain <shmem> gets libvirt's 4 MiB and a conventional PCI slot (behind the pcie-to-pci-bridge on q35)", () => {
    const def = parseDomainXml(domain("<shmem name='a' role='peer'><model type='ivshmem-plain'/></shmem>", 'q35'));
    const s = def.devices.shmems?.[0];
    assert.equal(s?.sizeBytes, 4 * 1024 * 1024);
    const bridge = def.devices.controllers.find((c) => c.model === 'pcie-to-pci-bridge');
    assert.ok(bridge, 'a pcie-to-pci-bridge was added for it');
    assert.equal(s?.address?.type === 'pci' ? s.address.bus : undefined, bridge.index);
    assert.deepEqual(shmemArgs({ ...def, devices: { ...def.devices, shmems: [{ ...s!, alias: 'shmem0' }] } }, true).slice(2), [
      '-device',
      `ivshmem-plain,id=shmem0,memdev=shmmem-shmem0,master=off,bus=pci.${bridge.index},addr=0x${(s?.address?.type === 'pci' ? s.address.slot : 0).toString(16)}`,
    ]);
  });
});

describe("<filesystem><driver type='mtp'>: what belongs to 9p is refused", () => {
  it('accessmode mapped, fmode, driver options', () => {
    assert.throws(
      () => parseDomainXml(domain("<filesystem type='mount' accessmode='mapped'><driver type='mtp'/><source dir='/tmp'/><target dir='t'/></filesystem>")),
      /accessmode='mapped' is for 9p filesystems/,
    );
    assert.throws(
      () => parseDomainXml(domain("<filesystem type='mount'><driver type='mtp' wrpolicy='immediate'/><source dir='/tmp'/><target dir='t'/></filesystem>")),
      /<driver wrpolicy=> is for 9p/,
    );
  });
});
