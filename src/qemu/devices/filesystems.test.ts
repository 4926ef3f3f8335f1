import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { withAliases } from '../../vm/device-aliases.js';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { filesystemArgs } from './filesystems.js';

const FIXTURES = new URL('../../../../test/fixtures/libvirt-qemuxml/', import.meta.url);

/** libvirt's -fsdev and virtio-9p -device arguments of a test domain, the -device JSON written as QEMU's key=value form. */
function libvirtArgs(name: string): string[] {
  const text = readFileSync(new URL(`${name}.x86_64-latest.args`, FIXTURES), 'utf8').replace(/ \\\n/g, ' ');
  const out: string[] = [];
  for (const m of text.matchAll(/-fsdev (\S+)|-device '(\{"driver":"virtio-9p[^']*)'/g)) {
    if (m[1] !== undefined) {
      out.push('-fsdev', m[1]);
      continue;
    }
    const { driver, ...props } = JSON.parse(m[2] as string) as Record<string, unknown>;
    const kv = Object.entries(props).map(([k, v]) => `${k}=${v === true ? 'on' : v === false ? 'off' : String(v)}`);
    out.push('-device', [driver, ...kv].join(','));
  }
  return out;
}

describe("<filesystem> (virtio-9p): argv against libvirt's .args", () => {
  for (const name of [
    'downscript',
    'virtio-9p-createmode',
    'virtio-9p-multidevs',
    'virtio-options-fs-ats',
    'virtio-options-fs-iommu',
    'virtio-options-fs-packed',
  ]) {
    it(name, () => {
      const def = parseDomainXml(readFileSync(new URL(`${name}.x86_64-latest.xml`, FIXTURES), 'utf8'));
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, 'dumpxml round trip');
      const q35 = (def.os.machine ?? '').includes('q35');
      const expected = libvirtArgs(name);
      assert.ok(expected.length > 0, `no 9p arguments in ${name}.args`);
      assert.deepEqual(filesystemArgs(withAliases(def, q35), q35), expected);
    });
  }

  // Domains ferry refuses for other devices: their <filesystem> elements alone, on the same machine, without the addresses.
  for (const name of ['q35-pcie', 'virtio-transitional', 'virtio-non-transitional']) {
    it(`${name} (its filesystems alone)`, () => {
      const xml = readFileSync(new URL(`${name}.x86_64-latest.xml`, FIXTURES), 'utf8');
      const machine = /machine='([^']+)'/.exec(xml)?.[1] ?? 'pc';
      const filesystems = [...xml.matchAll(/<filesystem[\s\S]*?<\/filesystem>/g)].map((m) => m[0].replace(/<address [^>]*\/>/, '')).join('');
      const def = parseDomainXml(domain(filesystems, machine));
      const q35 = machine.includes('q35');
      const noAddress = (argv: string[]): string[] => argv.map((a) => a.replace(/,bus=[^,]+,addr=[^,]+$/, ''));
      assert.deepEqual(noAddress(filesystemArgs(withAliases(def, q35), q35)), noAddress(libvirtArgs(name)));
    });
  }

  const domain = (fs: string, machine = 'pc'): string => `<domain type='qemu'><name>f</name><memory unit='MiB'>64</memory>
    <os><type machine='${machine}'>hvm</type></os><devices>${fs}</devices></domain>`;

  it('a virtio-transitional filesystem goes on conventional PCI on q35 (a pcie-to-pci-bridge), a virtio one on a root port', () => {
    const def = parseDomainXml(
      domain(
        `<filesystem model='virtio-transitional'><source dir='/a'/><target dir='a'/></filesystem>
      <filesystem><source dir='/b'/><target dir='b'/></filesystem>`,
        'q35',
      ),
    );
    const model = (bus: number | undefined): string | undefined => def.devices.controllers.find((c) => c.type === 'pci' && c.index === bus)?.model;
    const [a, b] = def.devices.filesystems ?? [];
    assert.equal(model(a?.address?.type === 'pci' ? a.address.bus : undefined), 'pcie-to-pci-bridge');
    assert.equal(model(b?.address?.type === 'pci' ? b.address.bus : undefined), 'pcie-root-port');
  });

  it('readonly, squash and a comma in the path: readonly=on, security_model=none, the comma doubled', () => {
    const def = withAliases(
      parseDomainXml(
        domain(`<filesystem type='mount' accessmode='squash'>
      <source dir='/srv/a,b'/><target dir='share'/><readonly/></filesystem>`),
      ),
      false,
    );
    const argv = filesystemArgs(def, false);
    assert.equal(argv[1], 'local,security_model=none,id=fsdev-fs0,path=/srv/a,,b,readonly=on');
    assert.match(argv[3] as string, /^virtio-9p-pci,id=fs0,fsdev=fsdev-fs0,mount_tag=share,bus=pci.0,addr=0x\d$/);
  });

  it('refuses what it cannot run, naming it', () => {
    assert.throws(() => parseDomainXml(domain(`<filesystem><source dir='srv'/><target dir='t'/></filesystem>`)), /source dir 'srv' is not an absolute path/);
    assert.throws(
      () => parseDomainXml(domain(`<filesystem><source dir='/a'/><target dir='t'/></filesystem><filesystem><source dir='/b'/><target dir='t'/></filesystem>`)),
      /filesystem target 't' specified twice/,
    );
    assert.throws(
      () => parseDomainXml(domain(`<filesystem accessmode='mapped' fmode='0800'><source dir='/a'/><target dir='t'/></filesystem>`)),
      /invalid fmode '0800'/,
    );
    assert.throws(
      () => parseDomainXml(domain(`<filesystem><driver type='virtiofs'/><source dir='/a'/><target dir='t'/></filesystem>`)),
      (e: Error & { code?: string }) => e.code === 'XML_UNSUPPORTED' && /virtiofsd/.test(e.message),
    );
  });
});
