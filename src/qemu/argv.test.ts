import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolveGraphicsListens } from '../host/graphics-listens.js';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import { buildQemuArgv, cacheFlags, type QemuArgvInput } from './argv.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/domains/${name}`, import.meta.url), 'utf8');

function input(xml: string, over: Partial<QemuArgvInput> = {}): QemuArgvInput {
  const parsed = parseDomainXml(xml);
  // Displays listen where ferryd would put them at start (the launcher resolves this before it builds the argv).
  const graphics = resolveGraphicsListens(parsed.devices.graphics, {
    vncListen: '127.0.0.1',
    spiceListen: '127.0.0.1',
    networkAddress: () => '192.0.2.1',
    socketPath: (t) => `/run/ferry/qemu/x/${t}.sock`,
  });
  const def = { ...parsed, devices: { ...parsed.devices, graphics } };
  return {
    def,
    accel: 'tcg',
    machine: 'pc-q35-10.0',
    qmpSocket: '/run/ferry/qemu/x/qmp.sock',
    pidfile: '/run/ferry/qemu/x/qemu.pid',
    resolveDisk: (d) =>
      d.type === 'file'
        ? d.source.file
          ? { kind: 'file', path: d.source.file }
          : { kind: 'empty' }
        : d.type === 'block'
          ? { kind: 'block', path: d.source.dev ?? '' }
          : d.type === 'volume'
            ? { kind: 'file', path: `/pools/${d.source.pool}/${d.source.volume}` }
            : { kind: 'network', disk: d },
    tapFds: def.devices.interfaces.map((i, n) => (i.type === 'user' ? undefined : 3 + n)),
    ...over,
  };
}

/** The values that follow each occurrence of an option. */
function values(argv: string[], option: string): string[] {
  return argv.flatMap((a, i) => (a === option ? [argv[i + 1] as string] : []));
}

const guest = `<domain type='kvm'><name>g,1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>512</memory><vcpu>2</vcpu>
  <os><type machine='q35'>hvm</type><kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0 ferry.dirty=8</cmdline></os>
  <cpu mode='host-passthrough'/>
  <devices><disk type='file'><driver name='qemu' type='qcow2' cache='none' io='native'/><source file='/img/a.qcow2'/><target dev='vda'/></disk>
  <serial type='pty'><log file='/log/g.log' append='on'/></serial><panic model='isa'/></devices></domain>`;

describe('buildQemuArgv()', () => {
  it('starts paused with QMP as a server socket, a pidfile and no defaults', () => {
    const argv = buildQemuArgv(input(guest));
    assert.ok(argv.includes('-S'));
    assert.ok(argv.includes('-nodefaults'));
    assert.ok(argv.includes('-no-shutdown'));
    assert.deepEqual(values(argv, '-chardev')[0], 'socket,id=charmonitor,path=/run/ferry/qemu/x/qmp.sock,server=on,wait=off');
    assert.deepEqual(values(argv, '-mon'), ['chardev=charmonitor,id=monitor,mode=control']);
    assert.deepEqual(values(argv, '-pidfile'), ['/run/ferry/qemu/x/qemu.pid']);
    assert.deepEqual(values(argv, '-action'), ['panic=pause']);
  });

  it('escapes commas in the name and sets uuid, memory, vCPUs, machine and kernel', () => {
    const argv = buildQemuArgv(input(guest));
    assert.deepEqual(values(argv, '-name'), ['guest=g,,1,debug-threads=on']);
    assert.deepEqual(values(argv, '-uuid'), ['11111111-2222-3333-4444-555555555555']);
    assert.deepEqual(values(argv, '-m'), ['size=524288k']);
    assert.deepEqual(values(argv, '-smp'), ['2']);
    assert.deepEqual(values(argv, '-machine'), ['pc-q35-10.0,usb=off,dump-guest-core=off,acpi=off'], 'no <acpi/>: ACPI off, as libvirt runs it');
    assert.deepEqual(values(argv, '-append'), ['console=ttyS0 ferry.dirty=8']);
    assert.deepEqual(values(argv, '-kernel'), ['/k']);
  });

  it('maps host-passthrough to host under KVM and to max under TCG', () => {
    assert.deepEqual(values(buildQemuArgv(input(guest)), '-cpu'), ['max']);
    assert.deepEqual(values(buildQemuArgv(input(guest, { accel: 'kvm' })), '-accel'), ['kvm']);
    assert.deepEqual(values(buildQemuArgv(input(guest, { accel: 'kvm' })), '-cpu'), ['host']);
  });

  it('builds -blockdev nodes with cache.direct for cache=none and aio=native', () => {
    const argv = buildQemuArgv(input(guest));
    const [file, fmt] = values(argv, '-blockdev').map((j) => JSON.parse(j));
    assert.deepEqual(file, {
      driver: 'file',
      filename: '/img/a.qcow2',
      'node-name': 'file-vda',
      'read-only': false,
      cache: { direct: true, 'no-flush': false },
      aio: 'native',
    });
    assert.equal(fmt.driver, 'qcow2');
    assert.equal(fmt.file, 'file-vda');
    assert.equal(fmt['node-name'], 'fmt-vda');
    assert.ok(
      values(argv, '-device').includes('virtio-blk-pci,drive=fmt-vda,id=disk-vda,write-cache=on,bus=pci.2,addr=0x0'),
      values(argv, '-device').join('\n'),
    );
  });

  it('maps every cache mode the way libvirt does', () => {
    assert.deepEqual(cacheFlags('none'), { direct: true, noFlush: false, writeCache: true });
    assert.deepEqual(cacheFlags('directsync'), { direct: true, noFlush: false, writeCache: false });
    assert.deepEqual(cacheFlags('writethrough'), { direct: false, noFlush: false, writeCache: false });
    assert.deepEqual(cacheFlags('writeback'), { direct: false, noFlush: false, writeCache: true });
    assert.deepEqual(cacheFlags('unsafe'), { direct: false, noFlush: true, writeCache: true });
    assert.deepEqual(cacheFlags(undefined), cacheFlags('writeback'));
  });

  it('logs the serial console and adds the pvpanic device', () => {
    const argv = buildQemuArgv(input(guest));
    assert.ok(values(argv, '-chardev').includes('pty,id=charserial0,logfile=/log/g.log,logappend=on'));
    assert.ok(values(argv, '-device').includes('isa-serial,chardev=charserial0,id=serial0,index=0'));
    assert.ok(values(argv, '-device').includes('pvpanic'));
  });

  it('covers block, network, volume, cdrom, NIC and hostdev devices of a full definition', () => {
    const argv = buildQemuArgv(input(fixture('full.xml')));
    const blockdevs = values(argv, '-blockdev').map((j) => JSON.parse(j));
    const byNode = (n: string): Record<string, unknown> => blockdevs.find((b) => b['node-name'] === n);
    assert.equal(byNode('file-sdb').driver, 'host_device');
    assert.deepEqual(
      { driver: byNode('file-vdc').driver, portal: byNode('file-vdc').portal, target: byNode('file-vdc').target, lun: byNode('file-vdc').lun },
      { driver: 'iscsi', portal: '192.0.2.10:3260', target: 'iqn.2024-01.org.example:storage', lun: 1 },
    );
    assert.deepEqual(byNode('file-vdd').server, { type: 'inet', host: 'nbd.example', port: '10809' });
    assert.equal(byNode('file-vdd')['read-only'], true);
    assert.deepEqual({ volume: byNode('file-vde').volume, path: byNode('file-vde').path }, { volume: 'gv0', path: 'images/data.qcow2' });
    assert.equal(byNode('file-vdf').filename, '/pools/testvms/data2.qcow2');
    const devices = values(argv, '-device');
    const at = (prefix: string): string | undefined => devices.find((d) => d.startsWith(prefix));
    assert.match(at('virtio-scsi-pci,id=scsi0,') ?? '', /bus=pci\.\d+,addr=0x0$/);
    assert.ok(at('scsi-block,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=fmt-sdb,id=disk-sdb,share-rw=on'), devices.join('\n'));
    assert.ok(at('ide-cd,bus=ide.0,drive=fmt-sda,id=disk-sda'));
    assert.ok(devices.includes('virtio-blk-pci,drive=fmt-vda,id=disk-vda,write-cache=on,bootindex=1,bus=pci.4,addr=0x0'), 'the address given is kept');
    assert.match(at('virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:6b:3c:58,bootindex=2,') ?? '', /bus=pci\.\d+,addr=0x0$/);
    assert.deepEqual(values(argv, '-netdev'), ['tap,id=hostnet0,fd=3', 'tap,id=hostnet1,fd=4', 'user,id=hostnet2']);
    assert.ok(
      at('pcie-root-port,port=0x10,chassis=4,id=pci.4,bus=pcie.0,multifunction=on,addr=0x2'),
      'root ports from 00:02.0, the bus an address names first',
    );
    assert.ok(at('virtio-vga,id=video0,bus=pcie.0,addr=0x1'), 'the primary video at 00:01.0');
    assert.ok(devices.includes('vfio-pci,host=0000:03:00.1,id=hostdev0'));
    assert.deepEqual(values(argv, '-cpu'), ['Skylake-Server,-hle']);
    assert.deepEqual(values(argv, '-smp'), ['4,sockets=1,dies=1,cores=2,threads=2']);
  });

  it('waits for an incoming migration with -incoming defer', () => {
    assert.deepEqual(values(buildQemuArgv(input(guest, { incoming: true })), '-incoming'), ['defer']);
    assert.deepEqual(values(buildQemuArgv(input(guest)), '-incoming'), []);
  });

  it('is pure: the same input gives the same argv', () => {
    const i = input(fixture('full.xml'));
    assert.deepEqual(buildQemuArgv(i), buildQemuArgv(i));
  });

  it('puts USB controllers, redirection filters and the watchdog action on the command line as libvirt does (its own .args)', () => {
    const libvirt = (name: string): string => readFileSync(new URL(`../../../test/fixtures/libvirt-qemuxml/${name}`, import.meta.url), 'utf8');
    /** A -device as driver then its properties sorted, from libvirt's JSON or ferry's key=value. */
    const norm = (d: string): string => {
      if (!d.startsWith('{')) {
        const [drv, ...props] = d.split(',');
        return [drv, ...props.filter((p) => !p.startsWith('id=')).sort()].join(',');
      }
      const o = JSON.parse(d) as Record<string, unknown>;
      const props = Object.entries(o)
        .filter(([k]) => k !== 'driver' && k !== 'id')
        .map(([k, v]) => `${k}=${v === true ? 'on' : String(v)}`);
      return [String(o.driver), ...props.sort()].join(',');
    };
    const pick = /usb|uhci|ehci|xhci|redir|i6300esb|ib700/;
    for (const name of [
      'usb-controller-ich9-ehci-addr',
      'usb-controller-ich9-companion',
      'controller-usb-order',
      'usb-redir-filter',
      'usb-redir-filter-version',
      'usb-redir-unix',
      'usb-redir-boot',
      'usb-controller-piix3',
      'usb-controller-nec-xhci',
      'usb-controller-qemu-xhci',
      'input-usbmouse-addr',
      'watchdog-device',
      'watchdog-q35-multiple',
      'watchdog-dump',
    ]) {
      const args = libvirt(`${name}.x86_64-latest.args`).replace(/\\\n/g, ' ');
      const theirs = [...args.matchAll(/-device '([^']+)'/g)]
        .map((m) => m[1] as string)
        .filter((d) => pick.test(d))
        .map(norm)
        .sort();
      const def = libvirt(`${name}.x86_64-latest.xml`);
      const argv = buildQemuArgv(input(def, { machine: /machine='q35'/.test(def) ? 'pc-q35-10.0' : 'pc-i440fx-10.0' }));
      const ours = values(argv, '-device')
        .filter((d) => pick.test(d))
        .map(norm)
        .sort();
      assert.deepEqual(ours, theirs, name);
      assert.deepEqual(
        values(argv, '-watchdog-action'),
        [...args.matchAll(/-watchdog-action (\S+)/g)].map((m) => m[1]),
        `${name}: watchdog action`,
      );
    }
  });

  it("gives unix redirdevs, tcp ones and SPICE ports (<source channel>) libvirt's -chardev", () => {
    const libvirt = (name: string, ext: string): string =>
      readFileSync(new URL(`../../../test/fixtures/libvirt-qemuxml/${name}.x86_64-latest.${ext}`, import.meta.url), 'utf8');
    const chardevs = (xml: string): string[] =>
      values(buildQemuArgv(input(xml, { machine: 'pc-i440fx-10.0' })), '-chardev').filter((c) => /redir|serial/.test(c));
    assert.deepEqual(chardevs(libvirt('usb-redir-unix', 'xml')), [
      'socket,id=charredir0,path=/tmp/connect.socket',
      'socket,id=charredir1,path=/tmp/listen.socket,server=on,wait=off',
    ]);
    assert.deepEqual(chardevs(libvirt('usb-redir-boot', 'xml')), ['socket,id=charredir0,host=localhost,port=4000', 'spicevmc,id=charredir1,name=usbredir']);
    // serial-spiceport without its tlsPort (SPICE TLS is refused apart): the port's name is the channel, as in libvirt's .args.
    const spiceport = chardevs(libvirt('serial-spiceport', 'xml').replace(" tlsPort='5904'", ''));
    assert.equal(spiceport[0]?.split(',logfile=')[0], 'spiceport,id=charserial0,name=org.qemu.console.serial.0');
    assert.match(libvirt('serial-spiceport', 'args'), /-chardev spiceport,id=charserial0,name=org\.qemu\.console\.serial\.0 /);
    for (const d of [parseDomainXml(libvirt('usb-redir-boot', 'xml')), parseDomainXml(libvirt('serial-spiceport', 'xml').replace(" tlsPort='5904'", ''))]) {
      assert.deepEqual(parseDomainXml(renderDomainXml(d)), d, 'dumpxml keeps <boot order> of a redirdev and <source channel>');
    }
    assert.equal(parseDomainXml(libvirt('usb-redir-boot', 'xml')).devices.redirdevs[0]?.bootOrder, 1);
    assert.throws(() => parseDomainXml(guest.replace('<panic', "<serial type='spiceport'><target port='1'/></serial><panic")), /needs <source channel=/);
    assert.throws(
      () => parseDomainXml(guest.replace('<panic', "<serial type='pty'><source channel='x'/><target port='1'/></serial><panic")),
      /for type='spiceport'/,
    );
    assert.throws(
      () => parseDomainXml(guest.replace('<panic', "<serial type='spiceport'><source channel='x'/><target port='1'/></serial><panic")),
      /no <graphics type='spice'>/,
    );
  });

  it("<controller type='usb' model='none'>: no USB controller at all", () => {
    const argv = buildQemuArgv(input(guest.replace('<panic', "<controller type='usb' model='none'/><panic")));
    assert.deepEqual(
      values(argv, '-device').filter((d) => /usb|xhci|uhci/.test(d)),
      [],
    );
  });

  it('puts each PCI controller after the bus it sits on (conventional PCI on q35: a bridge in a root port)', () => {
    const argv = buildQemuArgv(input(guest.replace('<panic', "<watchdog model='i6300esb'/><memballoon model='virtio'/><panic model='pvpanic'/><panic")));
    const devices = values(argv, '-device');
    const defined = new Set(['pcie.0']);
    for (const d of devices) {
      const bus = /(?:^|,)bus=([^,]+)/.exec(d)?.[1];
      if (bus && !bus.startsWith('usb')) assert.ok(defined.has(bus), `${d}: bus ${bus} comes later in\n${devices.join('\n')}`);
      const id = /(?:^|,)id=([^,]+)/.exec(d)?.[1];
      if (id) defined.add(id);
    }
    assert.ok(devices.some((d) => d.startsWith('pcie-pci-bridge,')) && devices.some((d) => d.startsWith('i6300esb,')));
  });
});
