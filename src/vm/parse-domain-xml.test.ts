import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from './parse-domain-xml.js';
import { renderDomainXml } from './render-domain-xml.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/domains/${name}`, import.meta.url), 'utf8');

function rejectsWith(xml: string, code: string, pattern: RegExp): void {
  assert.throws(
    () => parseDomainXml(xml),
    (err: unknown) => {
      assert.ok(err instanceof FerryError, `expected FerryError, got ${String(err)}`);
      assert.equal(err.code, code);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const wrap = (inner: string, devices = ''): string =>
  `<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory><os><type>hvm</type></os>${inner}<devices>${devices}</devices></domain>`;

describe('parseDomainXml()', () => {
  it('reads every supported element of a full definition', () => {
    const d = parseDomainXml(fixture('full.xml'));
    assert.equal(d.name, 'MasteringKVM01');
    assert.equal(d.uuid, '6f0a2b1c-3d4e-4f50-8a61-72b83c94d0e5');
    assert.equal(d.memoryKiB, 4 * 1024 * 1024);
    assert.equal(d.currentMemoryKiB, 3072 * 1024);
    assert.equal(d.vcpus, 4);
    assert.equal(d.os.machine, 'pc-q35-10.0');
    assert.deepEqual(d.os.boot, ['hd', 'network']);
    assert.equal(d.cpu?.model, 'Skylake-Server');
    assert.deepEqual(d.cpu?.topology, { sockets: 1, dies: 1, cores: 2, threads: 2 });
    assert.equal(d.onCrash, 'preserve');
    assert.equal(d.onLockFailure, 'poweroff');
    assert.equal(d.description, "The seed's example VM & friends");
    assert.equal(d.devices.disks.length, 7);
    const [vda, sdb, vdc, vdd, vde, vdf, sda] = d.devices.disks;
    assert.equal(vda?.cache, 'none');
    assert.equal(vda?.io, 'native');
    assert.equal(vda?.format, 'qcow2');
    assert.equal(sdb?.type, 'block');
    assert.equal(sdb?.device, 'lun');
    assert.equal(sdb?.shareable, true);
    assert.equal(vdc?.source.protocol, 'iscsi');
    assert.deepEqual(vdc?.source.hosts, [{ name: '192.0.2.10', port: 3260 }]);
    assert.equal(vdd?.source.protocol, 'nbd');
    assert.equal(vdd?.readonly, true);
    assert.equal(vde?.source.protocol, 'gluster');
    assert.deepEqual({ pool: vdf?.source.pool, volume: vdf?.source.volume }, { pool: 'testvms', volume: 'data2.qcow2' });
    assert.equal(sda?.device, 'cdrom');
    assert.equal(sda?.readonly, true);
    assert.deepEqual(
      d.devices.interfaces.map((i) => [i.type, i.source.bridge ?? i.source.network ?? '', i.model]),
      [
        ['bridge', 'br1', 'virtio'],
        ['network', 'default', 'e1000e'],
        ['user', '', 'virtio'],
      ],
    );
    assert.equal(d.devices.serials[0]?.logFile, '/var/log/ferry/MasteringKVM01-serial0.log');
    assert.equal(d.devices.hostdevs[0]?.address, '0000:03:00.1');
    assert.deepEqual(d.devices.panics, [{ model: 'isa' }]);
    assert.equal(d.devices.graphics[0]?.type, 'vnc');
    assert.equal(d.devices.videos.length, 1);
    assert.equal(d.metadata?.name, 'metadata');
    assert.equal(d.platform.acpi, true);
    assert.deepEqual(d.platform.timers, [{ name: 'rtc', tickpolicy: 'catchup' }]);
  });

  it('fills defaults the way libvirt does', () => {
    const d = parseDomainXml(fixture('minimal.xml'));
    assert.equal(d.currentMemoryKiB, 131072);
    assert.equal(d.vcpus, 1);
    assert.match(d.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(d.onPoweroff, 'destroy');
    assert.equal(d.onReboot, 'restart');
    assert.equal(d.onCrash, 'destroy');
    assert.equal(d.onLockFailure, undefined, "no on_lockfailure: ferry's default (pause) applies");
  });

  it("runs machine 'isapc' without a PCI bus, and refuses by name each device that needs one", () => {
    const isa = (devices: string): string =>
      `<domain type='qemu'><name>i</name><memory>65536</memory><os><type machine='isapc'>hvm</type></os><devices>${devices}</devices></domain>`;
    const def = parseDomainXml(isa("<serial type='pty'/><memballoon model='none'/>"));
    assert.deepEqual(def.devices.controllers, [], 'no pci-root, no USB controller');
    assert.equal(def.devices.serials[0]?.targetType, 'isa-serial');
    assert.throws(
      () => parseDomainXml(isa("<interface type='user'><model type='virtio'/></interface><controller type='usb' model='piix3-uhci'/>")),
      (err: unknown) => {
        const problems = (err as FerryError).details?.problems as Array<{ device: string; message: string }>;
        assert.deepEqual(
          problems.map((p) => p.device),
          ["<controller type='usb'>", '<interface> #0', '<memballoon>'],
        );
        assert.match(problems[0]?.message ?? '', /machine 'isapc' has no PCI bus/);
        assert.match(problems[2]?.message ?? '', /add <memballoon model='none'\/>/);
        return true;
      },
    );
  });

  it('refuses an on_lockfailure action libvirt does not know', () => {
    assert.throws(() => parseDomainXml(wrap('<on_lockfailure>explode</on_lockfailure>')), /on_lockfailure/);
  });

  it('generates a stable MAC in 52:54:00 for an interface without one', () => {
    const xml = wrap('<uuid>00000000-0000-0000-0000-000000000001</uuid>', "<interface type='user'/>");
    const a = parseDomainXml(xml).devices.interfaces[0]?.mac;
    assert.match(a ?? '', /^52:54:00(:[0-9a-f]{2}){3}$/);
    assert.equal(parseDomainXml(xml).devices.interfaces[0]?.mac, a);
  });

  it('dumpxml of a parsed definition parses back to the same definition', () => {
    const desktop = fixture('full.xml').replace(
      "<memballoon model='virtio'/>",
      "<redirfilter><usbdev class='0x08' vendor='0x15E1' product='0x2007' version='1.10' allow='yes'/><usbdev allow='no'/></redirfilter><memballoon model='virtio' autodeflate='on'><stats period='5'/></memballoon>",
    );
    for (const [name, xml] of [
      ['full.xml', fixture('full.xml')],
      ['minimal.xml', fixture('minimal.xml')],
      ['full.xml with <redirfilter>', desktop],
    ] as const) {
      const first = parseDomainXml(xml);
      const rendered = renderDomainXml(first);
      assert.deepEqual(parseDomainXml(rendered), first, name);
      assert.equal(renderDomainXml(parseDomainXml(rendered)), rendered, `${name} renders stably`);
    }
  });

  it('keeps <metadata> verbatim and gives back every device it applies', () => {
    const out = renderDomainXml(parseDomainXml(fixture('full.xml')));
    assert.match(out, /<app:info xmlns:app='http:\/\/example.org\/app'>keep me<\/app:info>/);
    assert.match(out, /<graphics type='vnc' port='-1' autoport='yes'\/>/);
    assert.match(out, /<timer name='rtc' tickpolicy='catchup'\/>/);
  });

  it('rejects malformed XML with its line', () => {
    rejectsWith("<domain type='kvm'><name>x</nam></domain>", 'XML_MALFORMED', /XML error: .*line 1/);
  });

  it('names the element that is missing or invalid', () => {
    rejectsWith('<domain><name>v</name></domain>', 'XML_INVALID', /missing domain type attribute/);
    rejectsWith("<domain type='kvm'><memory>1</memory><os><type>hvm</type></os></domain>", 'XML_INVALID', /missing <name> in <domain>/);
    rejectsWith("<domain type='kvm'><name>v</name><os><type>hvm</type></os></domain>", 'XML_INVALID', /missing <memory>/);
    rejectsWith(wrap('<uuid>not-a-uuid</uuid>'), 'XML_INVALID', /malformed uuid 'not-a-uuid' in <uuid>/);
    rejectsWith(wrap('<vcpu>0</vcpu>'), 'XML_INVALID', /in <vcpu>/);
    rejectsWith(wrap("<currentMemory unit='GiB'>1</currentMemory>"), 'XML_INVALID', /current memory exceeds maximum memory/);
    rejectsWith(wrap('', "<disk type='file'><source file='/x'/></disk>"), 'XML_INVALID', /missing <target dev=...> in <disk>/);
    rejectsWith(
      wrap('', "<disk type='file'><driver name='qemu' cache='fast'/><source file='/x'/><target dev='vda'/></disk>"),
      'XML_INVALID',
      /unknown cache 'fast'.* in <driver>/,
    );
    rejectsWith(
      wrap('', "<disk type='file'><source file='/x'/><target dev='vda'/></disk><disk type='file'><source file='/y'/><target dev='vda'/></disk>"),
      'XML_INVALID',
      /target 'vda' duplicated/,
    );
    rejectsWith(wrap('', "<interface type='bridge'><mac address='zz'/><source bridge='br1'/></interface>"), 'XML_INVALID', /unable to parse mac address 'zz'/);
    rejectsWith(wrap('', "<interface type='bridge'/>"), 'XML_INVALID', /needs <source bridge=...>/);
    rejectsWith('<network><name>n</name></network>', 'XML_INVALID', /expected root element <domain>/);
  });

  it('refuses elements that matter but ferry does not support', () => {
    rejectsWith(wrap('<memtune><min_guarantee>1</min_guarantee></memtune>'), 'XML_UNSUPPORTED', /<min_guarantee> in <memtune> is not supported/);
    rejectsWith(
      wrap('', "<filesystem type='mount'><driver type='virtiofs'/><source dir='/x'/><target dir='t'/></filesystem>"),
      'XML_UNSUPPORTED',
      /<filesystem> 't': <driver type='virtiofs'> is not supported .*virtiofsd/,
    );
    rejectsWith(
      wrap('', "<tpm model='tpm-crb'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"),
      'XML_UNSUPPORTED',
      /<tpm model='tpm-crb'>: .*<backend type='passthrough'> is not supported/,
    );
    rejectsWith(
      wrap(
        '',
        "<tpm model='tpm-tis'><backend type='external'><source type='unix' mode='connect' path='/s'/><encryption secret='32ee7e76-2178-47a1-ab7b-269e6e348015'/></backend></tpm>",
      ),
      'XML_INVALID',
      /an external TPM encrypts its state itself/,
    );
    rejectsWith(wrap('', "<disk type='file'><source file='/x'/><target dev='vda'/><mirror/></disk>"), 'XML_UNSUPPORTED', /<disk> 'vda': <mirror> in <disk>/);
    rejectsWith("<domain type='xen'><name>v</name></domain>", 'XML_UNSUPPORTED', /<domain type='xen'> is not supported/);
    rejectsWith(
      "<domain type='kvm'><name>v</name><memory>1024</memory><os firmware='efi'><type>hvm</type><nvram type='block'><source dev='/dev/vg/vars'/></nvram></os></domain>",
      'XML_UNSUPPORTED',
      /<nvram type='block'> is not supported/,
    );
  });

  it('lists every part it would not apply at once, each with its device and path', () => {
    const xml = wrap(
      "<os><type machine='q35'>hvm</type></os>".replace('<os>', '<os>'),
      `
      <disk type='file' snapshot='no'><driver name='qemu' type='raw'/><source file='/x'/><target dev='hda' bus='ide'/><slices/></disk>
      <interface type='user'><filterref filter='clean-traffic'/></interface>
      <interface type='bridge'><source bridge='br0'/><vlan><tag id='42'/></vlan></interface>`,
    ).replace('<os><type>hvm</type></os>', '');
    assert.throws(
      () => parseDomainXml(xml),
      (err: unknown) => {
        assert.ok(err instanceof FerryError);
        assert.equal(err.code, 'XML_UNSUPPORTED');
        const problems = (err.details as { problems: Array<{ path: string; device?: string; message: string }> }).problems;
        assert.deepEqual(
          problems.map((p) => p.path),
          [
            '/domain/devices/disk/@snapshot',
            '/domain/devices/disk/slices',
            '/domain/devices/interface[1]/filterref',
            '/domain/devices/interface[2]/vlan',
            '/domain/devices/disk/target/@bus',
          ],
        );
        assert.match(err.message, /5 parts of this definition/);
        assert.match(err.message, /<disk> 'hda': bus 'ide' is not supported on machine q35; use 'sata'/);
        assert.match(err.message, /<interface type='user'> #0: <filterref> in <interface> is not supported/);
        return true;
      },
    );
  });

  it('completes a definition as libvirt does: default devices and an address for each', () => {
    const d = parseDomainXml(
      wrap(
        "<os><type machine='q35'>hvm</type></os>",
        `
      <disk type='file'><source file='/x'/><target dev='vda' bus='virtio'/></disk>
      <interface type='user'><model type='e1000'/></interface>
      <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
      <input type='tablet' bus='usb'/><graphics type='vnc'/>`,
      ).replace('<os><type>hvm</type></os>', ''),
    );
    const pci = (x: { address?: unknown }): string => JSON.stringify(x.address);
    const models = d.devices.controllers.map((c) => `${c.type}:${c.model ?? ''}:${c.index}`);
    assert.deepEqual(models, [
      'pci:pcie-root:0',
      'sata::0',
      'usb:qemu-xhci:0',
      'virtio-serial::0',
      'pci:pcie-to-pci-bridge:1',
      'pci:pcie-root-port:2',
      'pci:pcie-root-port:3',
      'pci:pcie-root-port:4',
      'pci:pcie-root-port:5',
      'pci:pcie-root-port:6',
    ]);
    assert.equal(pci(d.devices.videos[0] ?? {}), JSON.stringify({ type: 'pci', domain: 0, bus: 0, slot: 1, function: 0 }));
    assert.equal(
      d.devices.interfaces[0]?.address?.type === 'pci' && d.devices.interfaces[0].address.bus,
      1,
      'e1000 is conventional PCI: on the pcie-to-pci-bridge',
    );
    assert.deepEqual(d.devices.channels[0]?.address, { type: 'virtio-serial', controller: 0, bus: 0, port: 1 });
    assert.deepEqual(d.devices.inputs[0]?.address, { type: 'usb', bus: 0, port: '1' });
    assert.equal(d.devices.memballoon?.model, 'virtio');
    const again = parseDomainXml(renderDomainXml(d));
    assert.deepEqual(again, d, 'completing a complete definition changes nothing');
  });

  it("<transient/>: kept through dumpxml; refused on what libvirt refuses (read-only, shareable, cdrom, network) with the disk's path", () => {
    const dom = (disk: string): string =>
      `<domain type='qemu'><name>t</name><memory>65536</memory><os><type>hvm</type></os><devices>${disk}</devices></domain>`;
    const ok = parseDomainXml(
      dom(
        "<disk type='file'><driver name='qemu' type='qcow2'/><source file='/i.qcow2'/><target dev='vda' bus='virtio'/><transient shareBacking='yes'/></disk><disk type='file'><source file='/r.img'/><target dev='vdb' bus='virtio'/><transient/></disk>",
      ),
    );
    assert.deepEqual(
      ok.devices.disks.map((d) => d.transient),
      [{ shareBacking: true }, {}],
    );
    assert.deepEqual(parseDomainXml(renderDomainXml(ok)), ok);
    for (const [disk, why] of [
      ["<disk type='file'><source file='/r.img'/><target dev='vdb' bus='virtio'/><readonly/><transient/></disk>", /must not be read-only/],
      ["<disk type='file'><source file='/r.img'/><target dev='vdb' bus='virtio'/><shareable/><transient/></disk>", /must not be shared/],
      ["<disk type='file' device='cdrom'><source file='/r.iso'/><target dev='sda' bus='sata'/><transient/></disk>", /must be of 'disk' device/],
      ["<disk type='network'><source protocol='nbd'><host name='h'/></source><target dev='vdb' bus='virtio'/><transient/></disk>", /local storage only/],
    ] as const)
      rejectsWith(dom(disk), 'XML_UNSUPPORTED', why);
  });

  it("refuses a pci controller index past 255, the last bus number (fuzz: index='4294967295' was defined, and its dumpxml then refused)", () => {
    rejectsWith(
      wrap('', "<controller type='pci' index='4294967295' model='pcie-root'/>"),
      'XML_INVALID',
      /<controller type='pci' index='4294967295'>: a pci controller's index is its bus number, at most 255/,
    );
    rejectsWith(wrap('', "<controller type='pci' index='256' model='pcie-root-port'/>"), 'XML_INVALID', /at most 255/);
  });

  it('refuses a definition to which define would add a PCI controller past bus 255 (fuzz: its dumpxml had bus=0x100 and did not define again)', () => {
    const q35 = (controllers: string): string =>
      `<domain type='kvm'><name>v</name><memory unit='MiB'>256</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${controllers}<controller type='usb' index='0' model='qemu-xhci'/></devices></domain>`;
    rejectsWith(
      q35("<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='255' model='pcie-root'/>"),
      'XML_UNSUPPORTED',
      /would need index 256, past the last PCI bus number \(255\)/,
    );
    const fits = parseDomainXml(q35("<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='250' model='pcie-root'/>"));
    const again = parseDomainXml(renderDomainXml(fits));
    assert.equal(renderDomainXml(again), renderDomainXml(fits), 'the definition with controllers up to its last bus numbers round-trips');
  });
});
