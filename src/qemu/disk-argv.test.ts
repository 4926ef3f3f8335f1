import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml } from '../vm/render-domain-xml.js';
import { buildQemuArgv } from './argv.js';

const domain = (machine: string, devices: string, top = ''): string => `<domain type='kvm'><name>d</name><memory unit='MiB'>256</memory>${top}
  <os><type arch='x86_64' machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`;

function argv(xml: string, machine: string): string[] {
  const def = parseDomainXml(xml);
  return buildQemuArgv({
    def,
    accel: 'tcg',
    machine,
    qmpSocket: '/q',
    pidfile: '/p',
    tapFds: [],
    resolveDisk: (d) => (d.source.file ? { kind: 'file', path: d.source.file } : d.source.dev ? { kind: 'block', path: d.source.dev } : { kind: 'empty' }),
  });
}
const devices = (args: string[]): string[] => args.flatMap((a, i) => (a === '-device' ? [args[i + 1] as string] : []));
const blockdevs = (args: string[]): Array<Record<string, unknown>> =>
  args.flatMap((a, i) => (a === '-blockdev' ? [JSON.parse(args[i + 1] as string) as Record<string, unknown>] : []));

const Q35 = `
  <iothreads>2</iothreads>`;
const q35Disks = `
  <disk type='file' device='disk'><driver name='qemu' type='qcow2' error_policy='stop' rerror_policy='report' io='threads' iothread='2' queues='2' queue_size='128' discard='unmap' detect_zeroes='unmap'/><source file='/i/vda.qcow2'/><target dev='vda' bus='virtio'/><boot order='1'/><serial>S-1</serial></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw' error_policy='enospace' copy_on_read='on'/><source file='/i/sda.raw'/><target dev='sda' bus='sata' rotation_rate='1'/><wwn>5000c50015ea71ad</wwn><shareable/></disk>
  <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sdb' bus='sata' tray='open'/><readonly/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/s0.raw'/><target dev='sdc' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/s1.raw'/><target dev='sdd' bus='scsi'/><address type='drive' controller='1' bus='0' target='2' unit='1'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/u.raw'/><target dev='sde' bus='usb' removable='on'/></disk>
  <disk type='file' device='floppy'><driver name='qemu' type='raw'/><source file='/i/f.img'/><target dev='fda' bus='fdc'/><blockio logical_block_size='512' physical_block_size='512'/></disk>
  <controller type='scsi' index='0' model='virtio-scsi'><driver queues='2' iothread='1'/></controller>`;

describe("disks on QEMU's command line", () => {
  it("puts each bus's front end on the command line with its driver attributes (q35)", () => {
    const args = argv(domain('q35', q35Disks, Q35), 'pc-q35-10.0');
    const dev = devices(args);
    const find = (re: RegExp): string => dev.find((d) => re.test(d)) ?? assert.fail(`no -device like ${re} in\n${dev.join('\n')}`);
    assert.deepEqual(
      args.flatMap((a, i) => (a === '-object' ? [args[i + 1]] : [])),
      ['iothread,id=iothread1', 'iothread,id=iothread2'],
    );
    assert.match(
      find(/^virtio-blk-pci,/),
      /num-queues=2,queue-size=128,iothread=iothread2,drive=fmt-vda,id=disk-vda,write-cache=on,serial=S-1,werror=stop,rerror=report,bootindex=1/,
    );
    assert.match(find(/^ide-hd,bus=ide\.0,/), /drive=cor-sda,.*share-rw=on,wwn=0x5000c50015ea71ad,rotation_rate=1,werror=enospc$/);
    assert.equal(find(/^ide-cd,/), 'ide-cd,bus=ide.1,id=disk-sdb');
    assert.match(find(/^scsi-hd,bus=scsi0\.0,channel=0,scsi-id=0,lun=0,drive=fmt-sdc/), /id=disk-sdc/);
    assert.match(find(/^scsi-hd,bus=scsi1\.0,channel=0,scsi-id=2,lun=1,drive=fmt-sdd/), /id=disk-sdd/);
    assert.match(find(/^usb-storage,bus=usb\.0,port=1,drive=fmt-sde/), /removable=on$/);
    assert.match(find(/^floppy,unit=0,drive=fmt-fda,id=disk-fda/), /logical_block_size=512,physical_block_size=512/);
    assert.ok(dev.includes('isa-fdc,id=fdc0'), 'q35 gets an ISA floppy controller');
    assert.match(find(/^virtio-scsi-pci,id=scsi0,/), /num_queues=2,iothread=iothread1/);
    assert.match(find(/^virtio-scsi-pci,id=scsi1,/), /bus=pci\.\d+/);
    const nodes = blockdevs(args);
    assert.deepEqual(nodes.find((n) => n['node-name'] === 'fmt-vda')?.['detect-zeroes'], 'unmap');
    assert.deepEqual(nodes.find((n) => n['node-name'] === 'file-vda')?.aio, 'threads');
    assert.deepEqual(
      nodes.find((n) => n['node-name'] === 'cor-sda'),
      { driver: 'copy-on-read', file: 'fmt-sda', 'node-name': 'cor-sda' },
    );
    assert.equal(
      nodes.some((n) => String(n['node-name']).endsWith('-sdb')),
      false,
      'an empty cdrom has no block node',
    );
  });

  it('gives back every disk attribute in dumpxml', () => {
    const def = parseDomainXml(domain('q35', q35Disks, Q35));
    const xml = renderDomainXml(def);
    assert.deepEqual(parseDomainXml(xml), def);
    for (const part of [
      '<iothreads>2</iothreads>',
      "error_policy='stop' rerror_policy='report' io='threads' iothread='2' queues='2' queue_size='128' discard='unmap' detect_zeroes='unmap'",
      "copy_on_read='on'",
      '<wwn>5000c50015ea71ad</wwn>',
      "tray='open'",
      "removable='on'",
      "rotation_rate='1'",
      "<blockio logical_block_size='512' physical_block_size='512'/>",
      "<controller type='fdc' index='0'/>",
      "<controller type='scsi' index='1' model='virtio-scsi'>",
    ])
      assert.ok(xml.includes(part), `dumpxml lacks ${part}\n${xml}`);
    assert.match(xml, /<target dev='sdb' bus='sata' tray='open'\/>\s*<readonly\/>/);
  });

  it('runs IDE disks, an IDE cdrom and a floppy on i440fx', () => {
    const xml = domain(
      'pc',
      `
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/hda.raw'/><target dev='hda' bus='ide'/></disk>
      <disk type='block' device='cdrom'><driver name='qemu' type='raw'/><source dev='/dev/sr0'/><target dev='hdc' bus='ide'/><readonly/></disk>
      <disk type='file' device='floppy'><driver name='qemu' type='raw'/><source file='/i/f.img'/><target dev='fdb' bus='fdc'/><boot order='1'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/sdb.raw'/><target dev='sdb' bus='scsi'/></disk>
      <controller type='scsi' index='0' model='lsilogic'/>`,
    );
    const args = argv(xml, 'pc-i440fx-10.0');
    const dev = devices(args);
    assert.ok(dev.includes('ide-hd,bus=ide.0,unit=0,drive=fmt-hda,id=disk-hda,write-cache=on'), dev.join('\n'));
    assert.ok(dev.includes('ide-cd,bus=ide.1,unit=0,drive=fmt-hdc,id=disk-hdc'), dev.join('\n'));
    assert.ok(dev.includes('floppy,unit=1,drive=fmt-fdb,id=disk-fdb,write-cache=on'), dev.join('\n'));
    assert.equal(
      dev.some((d) => d.startsWith('isa-fdc')),
      false,
      "i440fx's PIIX3 has its floppy controller",
    );
    assert.ok(dev.includes('scsi-hd,bus=scsi0.0,scsi-id=1,drive=fmt-sdb,id=disk-sdb,write-cache=on'), dev.join('\n'));
    assert.ok(
      dev.some((d) => /^lsi,id=scsi0,bus=pci\.0,addr=0x[0-9a-f]+$/.test(d)),
      dev.join('\n'),
    );
    assert.ok(args.join(' ').includes('-global isa-fdc.bootindexB=1'));
    assert.equal(blockdevs(args).find((n) => n['node-name'] === 'file-hdc')?.driver, 'host_cdrom');
    const out = renderDomainXml(parseDomainXml(xml));
    assert.match(out, /<controller type='ide' index='0'>/);
    assert.match(out, /<controller type='fdc' index='0'\/>/);
  });

  it('adds no IDE controller to an i440fx domain without IDE disks (as libvirt)', () => {
    const out = renderDomainXml(parseDomainXml(domain('pc', '')));
    assert.doesNotMatch(out, /type='ide'/);
  });

  it('refuses what QEMU or the domain cannot give a disk, naming it', () => {
    const refused = (devs: string, pattern: RegExp, top = ''): void => {
      assert.throws(
        () => parseDomainXml(domain('q35', devs, top)),
        (e: unknown) => {
          assert.ok(e instanceof FerryError);
          assert.match(e.message, pattern);
          return true;
        },
      );
    };
    refused(
      "<disk type='file'><driver name='qemu' iothread='3'/><source file='/x'/><target dev='vda' bus='virtio'/></disk>",
      /<disk> 'vda': iothread 3 is not defined \(the domain has <iothreads>1<\/iothreads>\)/,
      '<iothreads>1</iothreads>',
    );
    refused(
      "<disk type='file'><driver name='qemu' queues='2'/><source file='/x'/><target dev='sda' bus='sata'/></disk>",
      /queues and queue_size are for virtio disks only/,
    );
    refused(
      "<disk type='file'><source file='/x'/><target dev='vda' bus='virtio'/><wwn>5000c50015ea71ad</wwn></disk>",
      /only ide, sata and scsi disks have a wwn/,
    );
    refused("<disk type='file'><source file='/x'/><target dev='sda' bus='sata'/><wwn>12</wwn></disk>", /malformed wwn value '12'/);
    refused("<disk type='file' device='floppy'><source file='/x'/><target dev='fda' bus='sata'/></disk>", /a floppy needs bus='fdc'/);
    refused("<disk type='file'><source file='/x'/><target dev='hda' bus='ide'/></disk>", /<disk> 'hda': bus 'ide' is not supported on machine q35; use 'sata'/);
  });
});
