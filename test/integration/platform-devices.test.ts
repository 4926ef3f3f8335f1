import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** One QMP command through `ferry qemu-monitor-command`; its return value. */
async function qmp<T>(host: FerrydHost, vm: string, execute: string, args?: Record<string, unknown>): Promise<T> {
  const out = await host.ok('qemu-monitor-command', vm, JSON.stringify(args ? { execute, arguments: args } : { execute }));
  return (JSON.parse(out) as { return: T }).return;
}

/** QEMU's PCI functions as vendor:device → the chain of bridges above it ("8086:244e>1b36:0001"), from query-pci. */
async function pciPaths(host: FerrydHost, vm: string): Promise<Map<string, string>> {
  interface Dev {
    id: { vendor: number; device: number };
    pci_bridge?: { devices?: Dev[] };
  }
  const buses = await qmp<Array<{ devices: Dev[] }>>(host, vm, 'query-pci');
  const out = new Map<string, string>();
  const walk = (devs: Dev[], above: string[]): void => {
    for (const d of devs) {
      const id = `${d.id.vendor.toString(16)}:${d.id.device.toString(16)}`;
      out.set(id, above.join('>'));
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices, [...above, id]);
    }
  };
  for (const b of buses) walk(b.devices, []);
  return out;
}

/** The devices QEMU has, by id (`/machine/peripheral`) → their QEMU type. */
async function peripherals(host: FerrydHost, vm: string): Promise<Map<string, string>> {
  const list = await qmp<Array<{ name: string; type: string }>>(host, vm, 'qom-list', { path: '/machine/peripheral' });
  return new Map(list.flatMap((p) => (p.type.startsWith('child<') ? [[p.name, p.type.slice(6, -1)] as [string, string]] : [])));
}

/**
 * Issue 11's machine-wide and legacy devices on real QEMU: an Intel IOMMU with
 * interrupt remapping (split I/O APIC), a USB hub with a tablet on one of its
 * ports, a parallel port writing to a file, a VM generation ID, and virtio
 * devices on packed virtqueues. Each is checked in QEMU, then again after a
 * live migration (the generation ID is kept: libvirt changes it only when a
 * snapshot or saved image is restored).
 */
describe('IOMMU, USB hub, parallel port, vmgenid and virtio driver options run and migrate', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop();
  });

  it('q35: each device is in QEMU as defined, before and after a live migration', async () => {
    const name = 'plat';
    const lpt = `${hosts.dir.path}/lpt0.out`;
    // QEMU (another user) creates the smartcard's socket: a directory it may write in.
    const sockets = `${hosts.dir.path}/sockets`;
    mkdirSync(sockets);
    chmodSync(sockets, 0o777);
    const devices = `
    <controller type='pci' index='0' model='pcie-root'><pcihole64 unit='GiB'>2</pcihole64></controller>
    <controller type='pci' model='dmi-to-pci-bridge'/>
    <controller type='pci' model='pci-bridge'><target memReserve='8196'/></controller>
    <controller type='pci' model='pcie-switch-upstream-port'/>
    <controller type='pci' model='pcie-switch-downstream-port'/>
    <watchdog model='i6300esb' action='reset'/>
    <controller type='virtio-serial'><driver packed='on'/></controller>
    <interface type='user'><model type='virtio'/><rom bar='off'/></interface>
    <controller type='usb' model='qemu-xhci' ports='2'/>
    <hub type='usb'/>
    <input type='tablet' bus='usb'><address type='usb' bus='0' port='1.3'/></input>
    <input type='keyboard' bus='virtio'><driver packed='on' page_per_vq='on'/></input>
    <smartcard mode='passthrough' type='unix'><source mode='bind' path='${sockets}/card.sock'/></smartcard>
    <parallel type='file'><source path='${lpt}' append='on'/><target port='0'/></parallel>
    <memballoon model='virtio'><driver packed='on'/></memballoon>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend><driver packed='on' ats='off'/></rng>
    <iommu model='intel'><driver intremap='on' caching_mode='on'/></iommu>`;
    const xml = guestXml({ name, type: 'qemu', devices })
      .replace('</name>', '</name>\n  <genid/>')
      .replace('<features><acpi/><apic/></features>', "<features><acpi/><apic/><ioapic driver='qemu'/></features>");
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const defined = await hosts.a.ok('dumpxml', name);
    const genid = /<genid>([0-9a-f-]{36})<\/genid>/.exec(defined)?.[1];
    assert.ok(genid, `an empty <genid/> gets a generated ID at define: ${defined}`);
    // The hub takes the controller's first free port; the tablet sits on the hub's port 3.
    assert.match(defined, /<hub type='usb'>\s*<address type='usb' bus='0' port='1'\/>/);
    assert.match(defined, /<driver packed='on' page_per_vq='on'\/>/);
    assert.match(
      defined,
      /<controller type='pci' index='1' model='dmi-to-pci-bridge'>\s*<model name='i82801b11-bridge'\/>\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x1e' function='0x0'\/>/,
    );
    assert.match(
      defined,
      /<controller type='pci' index='2' model='pci-bridge'>[^]*?<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'\/>/,
    );
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 60_000 });

    const check = async (host: FerrydHost, where: string, byte: number): Promise<void> => {
      const p = await peripherals(host, name);
      const expected: Record<string, string> = {
        iommu0: 'intel-iommu',
        hub0: 'usb-hub',
        input0: 'usb-tablet',
        input1: 'virtio-keyboard-pci',
        parallel0: 'isa-parallel',
        vmgenid0: 'vmgenid',
        balloon0: 'virtio-balloon-pci',
        rng0: 'virtio-rng-pci',
        ccid0: 'usb-ccid',
        smartcard0: 'ccid-card-passthru',
        'virtio-serial0': 'virtio-serial-pci',
        net0: 'virtio-net-pci',
        'pci.1': 'i82801b11-bridge',
        'pci.2': 'pci-bridge',
        'pci.3': 'x3130-upstream',
        'pci.4': 'xio3130-downstream',
      };
      for (const [id, type] of Object.entries(expected)) assert.equal(p.get(id), type, `${where}: QEMU has ${id} (${type}); it has ${[...p].join(', ')}`);
      const get = (id: string, property: string): Promise<unknown> => qmp(host, name, 'qom-get', { path: `/machine/peripheral/${id}`, property });
      assert.equal(await get('iommu0', 'intremap'), 'on', `${where}: interrupt remapping`);
      assert.equal(await get('iommu0', 'caching-mode'), true, `${where}: caching mode`);
      assert.equal(await get('input0', 'port'), '1.3', `${where}: the tablet is on the hub's port 3`);
      assert.equal(await get('hub0', 'port'), '1', `${where}: the hub is on the controller's port 1`);
      assert.equal(await get('ccid0', 'port'), '2', `${where}: the CCID controller libvirt adds for the smartcard takes the next port`);
      assert.equal(await get('net0', 'rombar'), 0, `${where}: <rom bar='off'>`);
      assert.equal(await get('pci.2', 'mem-reserve'), 8196 * 1024, `${where}: the pci-bridge's <target memReserve='8196'> (KiB)`);
      for (const id of ['input1', 'balloon0', 'rng0', 'virtio-serial0']) assert.equal(await get(id, 'packed'), true, `${where}: ${id} uses packed virtqueues`);
      assert.equal(await get('input1', 'page-per-vq'), true, `${where}: page_per_vq`);
      assert.equal(await get('rng0', 'ats'), false, `${where}: ats='off'`);
      // The conventional watchdog sits on the pci-bridge, which sits on the DMI-to-PCI bridge at 00:1e.0.
      const paths = await pciPaths(host, name);
      assert.equal(paths.get('8086:25ab'), '8086:244e>1b36:1', `${where}: i6300esb behind pci-bridge behind the DMI bridge: ${[...paths].join(', ')}`);
      assert.equal(paths.get('104c:8233'), '1b36:c>104c:8232', `${where}: the switch's downstream port behind its upstream port, in a root port`);
      assert.equal(await qmp(host, name, 'qom-get', { path: '/machine/q35', property: 'pci-hole64-size' }), 2 * 1024 ** 3, `${where}: pcihole64`);
      const gen = await qmp<{ guid: string }>(host, name, 'query-vm-generation-id');
      assert.equal(gen.guid, genid, `${where}: the guest's generation ID is the defined one`);
      // The parallel port prints: a byte in the data register, then a strobe (as a printer driver does it).
      await qmp(host, name, 'human-monitor-command', { 'command-line': `o /b 0x378 ${byte}` });
      await qmp(host, name, 'human-monitor-command', { 'command-line': 'o /b 0x37a 0x0c' });
      await qmp(host, name, 'human-monitor-command', { 'command-line': 'o /b 0x37a 0x0d' });
      await eventually(() => readFileSync(lpt).includes(byte), `${where}: the parallel port wrote ${byte} to its file`, 30_000);
    };
    await check(hosts.a, 'A', 0x41);

    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    await check(hosts.b, 'B', 0x42);
    assert.deepEqual([...readFileSync(lpt)], [0x41, 0x42], "append='on': the file keeps what A's QEMU wrote, B's adds to it");
    assert.match(await hosts.b.ok('dumpxml', name), new RegExp(`<genid>${genid}</genid>`), 'the generation ID travels unchanged');
    await hosts.b.ok('destroy', name);
    await hosts.b.ok('undefine', name);
  });
});
