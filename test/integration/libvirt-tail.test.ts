import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { killLeftovers } from '../helpers/leftovers.js';
import { waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/** One QMP command through `ferry qemu-monitor-command`; its return value. */
async function qmp<T>(host: FerrydHost, vm: string, execute: string, args?: Record<string, unknown>): Promise<T> {
  const out = await host.ok('qemu-monitor-command', vm, JSON.stringify(args ? { execute, arguments: args } : { execute }));
  return (JSON.parse(out) as { return: T }).return;
}

/**
 * The SMBIOS structure table the firmware built in guest RAM (what the guest's kernel reads for
 * /sys/class/dmi): its entry point is in the F segment (anchor _SM3_ or _SM_), which gives the table's address.
 */
async function smbiosTable(host: FerrydHost, vm: string, scratch: string): Promise<Buffer> {
  const save = async (val: number, size: number): Promise<Buffer> => {
    const file = `${scratch}/pmem-${val.toString(16)}`;
    await qmp(host, vm, 'pmemsave', { val, size, filename: file });
    return readFileSync(file);
  };
  const seg = await save(0xf0000, 0x10000);
  for (let off = 0; off < seg.length; off += 16) {
    if (seg.toString('latin1', off, off + 5) === '_SM3_') return save(Number(seg.readBigUInt64LE(off + 0x10)), seg.readUInt32LE(off + 0x0c));
    if (seg.toString('latin1', off, off + 4) === '_SM_') return save(seg.readUInt32LE(off + 0x18), seg.readUInt16LE(off + 0x16));
  }
  throw new Error('no SMBIOS entry point in the F segment');
}

/**
 * The tail of issue 11's conformance refusals on real QEMU, one guest on one host (no migration):
 * SMBIOS strings from <sysinfo> (read back from the tables the firmware built in guest RAM), a fw_cfg entry, the PC
 * speaker's audiodev, a USB sound card, the RTC's track, a virtio-scsi controller whose queues are mapped to iothreads,
 * a virtio crypto device, virtio-gpu with blob='off', NUMA nodes with an HMAT (a cache, latencies, a bandwidth), and ioeventfd/event_idx on a virtio disk (its queues on
 * iothreads too) and NIC (with RSS and hash reports).
 */
describe('sysinfo, pcspk, rtc track, iothread mapping, crypto, blob and ioeventfd on real QEMU', () => {
  const dir = tempDir('ferry-tail-');
  const host = new FerrydHost({ dir: `${dir.path}/a` });
  const name = 'tail';
  const uuid = randomUUID();

  before(async () => {
    await host.start();
  });
  after(async () => {
    await host.ferry('destroy', name);
    await host.stopAll();
    killLeftovers(dir.path);
    dir.cleanup();
  });

  it('QEMU has each as defined, and the firmware gives the guest the SMBIOS strings', async () => {
    const disk = `${dir.path}/data.img`;
    mkdirSync(`${dir.path}/pstore`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', disk, '8M']);
    const devices = `
    <disk type='file' device='disk'><driver name='qemu' type='raw' queues='2' ioeventfd='on' event_idx='off'><iothreads><iothread id='1'/><iothread id='2'/></iothreads></driver><source file='${disk}'/><target dev='vda' bus='virtio'/><serial>0042</serial><acpi index='7'/></disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <driver queues='2' cmd_per_lun='50' max_sectors='512' ioeventfd='on'><iothreads><iothread id='2'><queue id='0'/></iothread><iothread id='1'><queue id='1'/></iothread></iothreads></driver>
    </controller>
    <interface type='user'><model type='virtio'/><driver ioeventfd='off' event_idx='off' rss='on' rss_hash_report='on'/><ip address='10.9.0.0' family='ipv4' prefix='24'/><acpi index='100'/></interface>
    <interface type='user'><model type='usb-net'/></interface>
    <channel type='qemu-vdagent'><source><clipboard copypaste='yes'/><mouse mode='client'/></source><target type='virtio' name='com.redhat.spice.0'/></channel>
    <channel type='unix'><target type='virtio'/></channel>
    <sound model='pcspk'/>
    <sound model='usb' multichannel='yes'/>
    <audio id='1' type='none'/>
    <video><model type='virtio' heads='1' blob='off'><resolution x='1280' y='720'/></model></video>
    <sound model='virtio' streams='2'><driver packed='on'/></sound>
    <pstore backend='acpi-erst'><path>${dir.path}/pstore/erst.bin</path><size unit='KiB'>8</size></pstore>
    <crypto model='virtio' type='qemu'><backend model='builtin' queues='1'/></crypto>`;
    const sysinfo = `
  <iothreads>2</iothreads>
  <sysinfo type='smbios'>
    <bios><entry name='vendor'>Ferry BIOS, Inc.</entry><entry name='version'>1.2.3</entry></bios>
    <system><entry name='manufacturer'>Ferry Labs</entry><entry name='product'>Tail Box</entry><entry name='serial'>SN-42</entry><entry name='uuid'>${uuid}</entry><entry name='family'>Ferries</entry></system>
    <baseBoard><entry name='manufacturer'>Board Works</entry><entry name='product'>BW-1</entry></baseBoard>
    <chassis><entry name='manufacturer'>Chassis Co</entry><entry name='asset'>ASSET-7</entry></chassis>
    <oemStrings><entry>ferry-oem-one</entry><entry>two, with a comma</entry></oemStrings>
  </sysinfo>
  <sysinfo type='fwcfg'><entry name='opt/ferry/tail'>hello fw_cfg</entry></sysinfo>`;
    const xml = guestXml({ name, uuid, type: 'qemu', memoryMiB: 192, hbMs: 500, devices })
      .replace('<os>', `${sysinfo}\n  <os>`)
      .replace('</cmdline>', "</cmdline>\n    <smbios mode='sysinfo'/>")
      .replace(
        '<on_crash>',
        `<cpu><numa>
    <cell id='0' cpus='0' memory='128' unit='MiB'><cache level='1' associativity='direct' policy='writeback'><size value='10' unit='KiB'/><line value='8' unit='B'/></cache></cell>
    <cell id='1' memory='64' unit='MiB'/>
    <interconnects>
      <latency initiator='0' target='0' type='access' value='5'/><latency initiator='0' target='0' cache='1' type='access' value='10'/><latency initiator='0' target='1' type='access' value='20'/>
      <bandwidth initiator='0' target='0' type='access' value='204800' unit='KiB'/><bandwidth initiator='0' target='0' cache='1' type='access' value='208896' unit='KiB'/>
    </interconnects>
  </numa></cpu>
  <clock offset='utc'><timer name='rtc' track='guest'/></clock>\n  <on_crash>`,
      );
    writeFileSync(`${dir.path}/${name}.xml`, xml);
    await host.ok('define', `${dir.path}/${name}.xml`);
    const defined = await host.ok('dumpxml', name);
    for (const part of [
      "<smbios mode='sysinfo'/>",
      "<entry name='vendor'>Ferry BIOS, Inc.</entry>",
      '<entry>two, with a comma</entry>',
      "rss='on' rss_hash_report='on'",
      "<ip address='10.9.0.0' family='ipv4' prefix='24'/>",
      "<clipboard copypaste='yes'/>",
      "<mouse mode='client'/>",
      "<acpi index='100'/>",
      "<acpi index='7'/>",
      "<timer name='rtc' track='guest'/>",
      "<sound model='pcspk'>",
      "blob='off'",
      "<backend model='builtin' queues='1'/>",
      "<iothread id='2'>",
      "ioeventfd='on' event_idx='off'",
    ]) {
      assert.ok(defined.includes(part), `dumpxml keeps ${part}: ${defined}`);
    }
    await host.ok('start', name);

    const [pid] = qemuPidsOf(host.stateDir, uuid);
    assert.ok(pid, 'QEMU runs');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(argv.includes('type=0,vendor=Ferry BIOS,, Inc.,version=1.2.3'), argv.join(' '));
    assert.ok(argv.includes('name=opt/ferry/tail,string=hello fw_cfg'));
    assert.ok(argv.includes('base=utc,clock=vm'), 'rtc track=guest: -rtc clock=vm');
    assert.ok(
      argv.some((a) => /^user,net=10\.9\.0\.0\/24,id=hostnet0$/.test(a)),
      "the user NIC's <ip>: QEMU's net=",
    );
    // HMAT: the memory-only node's initiator is node 0; QEMU builds the table from these.
    assert.ok(argv.includes('node,nodeid=1,initiator=0,memdev=ram-node1'), argv.join(' '));
    assert.ok(argv.includes('hmat-cache,node-id=0,size=10K,level=1,associativity=direct,policy=write-back,line=8'));

    const get = (path: string, property: string): Promise<unknown> => qmp(host, name, 'qom-get', { path, property });
    assert.equal(await get('/machine', 'pcspk-audiodev'), 'audio1', 'the PC speaker plays to <audio id=1>');
    assert.equal(await get('/machine', 'hmat'), true, '-machine hmat=on');
    const list = await qmp<Array<{ name: string; type: string }>>(host, name, 'qom-list', { path: '/machine/peripheral' });
    const types = new Map(list.map((p) => [p.name, p.type]));
    assert.equal(types.get('crypto0'), 'child<virtio-crypto-pci>');
    // A usb-net NIC, on a port of the USB controller.
    assert.equal(types.get('net1'), 'child<usb-net>');
    assert.match(String(await get('/machine/peripheral/net1', 'port')), /^\d+$/);
    // An unnamed unix channel: a virtserialport without a name, on a socket ferry made for it (the live XML names it).
    assert.equal(types.get('channel1'), 'child<virtserialport>');
    assert.equal(await get('/machine/peripheral/channel1', 'name'), '', 'no port name');
    // QEMU's own vdagent on the first port, with clipboard sharing and the client mouse.
    assert.equal(await get('/machine/peripheral/channel0', 'name'), 'com.redhat.spice.0');
    const chardevs = await qmp<Array<{ label: string; filename: string }>>(host, name, 'query-chardev');
    assert.ok(
      chardevs.some((c) => c.label === 'charchannel0' && /vdagent/.test(c.filename)),
      JSON.stringify(chardevs),
    );
    const socket = /<channel type='unix'>\s*<source mode='bind' path='([^']+)'\/>\s*<target type='virtio'\/>/.exec(await host.ok('dumpxml', name))?.[1];
    assert.ok(socket && statSync(socket).isSocket(), `the channel's socket exists: ${socket}`);
    assert.equal(types.get('sound1'), 'child<usb-audio>');
    assert.equal(await get('/machine/peripheral/sound1', 'multi'), true);
    assert.equal(await get('/machine/peripheral/sound1', 'audiodev'), 'audio1');
    assert.equal(await get('/objects/objcrypto0', 'queues'), 1);
    // QEMU marks virtio-crypto unmigratable: the blocker ferry's migration preflight reports.
    const migrate = await qmp<{ 'blocked-reasons'?: string[] }>(host, name, 'query-migrate');
    assert.ok(
      (migrate['blocked-reasons'] ?? []).some((r) => r.includes('virtio-crypto')),
      JSON.stringify(migrate),
    );
    assert.equal(await get('/machine/peripheral/video0', 'blob'), false);
    // <pstore backend='acpi-erst'>: the file ferry made, mapped as QEMU's shared memory backend of the ERST device.
    assert.equal(types.get('pstore0'), 'child<acpi-erst>');
    assert.equal(await get('/machine/peripheral/pstore0', 'memdev'), '/objects/mempstore0');
    assert.equal(await get('/objects/mempstore0', 'mem-path'), `${dir.path}/pstore/erst.bin`);
    assert.equal(statSync(`${dir.path}/pstore/erst.bin`).size, 8192, 'QEMU sized the file');
    assert.deepEqual([await get('/machine/peripheral/video0', 'xres'), await get('/machine/peripheral/video0', 'yres')], [1280, 720], '<resolution>');
    const sound = [...types].find(([, t]) => t === 'child<virtio-sound-pci>')?.[0];
    assert.ok(sound, `a virtio-sound-pci: ${[...types].join(', ')}`);
    assert.equal(await get(`/machine/peripheral/${sound}`, 'streams'), 2);
    assert.equal(await get(`/machine/peripheral/${sound}`, 'packed'), true);
    assert.equal(await get('/machine/peripheral/net0', 'ioeventfd'), false, 'net0 ioeventfd=off');
    assert.equal(await get('/machine/peripheral/disk-vda', 'ioeventfd'), true, 'disk-vda ioeventfd=on');
    assert.equal(await get('/machine/peripheral/net0', 'rss'), true, 'net0 rss=on');
    assert.equal(await get('/machine/peripheral/net0', 'acpi-index'), 100, "the NIC's <acpi index='100'>");
    assert.equal(await get('/machine/peripheral/disk-vda', 'acpi-index'), 7, "the disk's <acpi index='7'>");
    assert.equal(await get('/machine/peripheral/net0', 'hash'), true, 'net0 rss_hash_report=on: hash=on');
    for (const id of ['disk-vda', 'net0']) assert.equal(await get(`/machine/peripheral/${id}`, 'event_idx'), false, `${id} event_idx=off`);
    assert.equal(await get('/machine/peripheral/scsi0', 'ioeventfd'), true);
    assert.equal(await get('/machine/peripheral/scsi0', 'cmd_per_lun'), 50);
    assert.equal(await get('/machine/peripheral/scsi0', 'max_sectors'), 512);
    assert.deepEqual(await get('/machine/peripheral/disk-vda', 'iothread-vq-mapping'), [{ iothread: 'iothread1' }, { iothread: 'iothread2' }]);
    assert.equal(await get('/machine/peripheral/disk-vda', 'serial'), '0042', 'a digits-only serial stays a string in the JSON -device');
    assert.deepEqual(await get('/machine/peripheral/scsi0', 'iothread-vq-mapping'), [
      { iothread: 'iothread2', vqs: [0] },
      { iothread: 'iothread1', vqs: [1] },
    ]);

    // The tables the firmware built from -smbios, in guest RAM (SeaBIOS writes them before it boots the kernel).
    const scratch = `${dir.path}/pmem`;
    mkdirSync(scratch);
    chmodSync(scratch, 0o777); // QEMU runs as another user
    let table = '';
    await eventually(
      async () => {
        table = (await smbiosTable(host, name, scratch).catch(() => Buffer.alloc(0))).toString('latin1');
        return table.includes('Ferry BIOS');
      },
      'the firmware has built the SMBIOS tables',
      60_000,
    );
    for (const text of [
      'Ferry BIOS, Inc.\0',
      'Ferry Labs\0',
      'Tail Box\0',
      'SN-42\0',
      'Ferries\0',
      'Board Works\0',
      'BW-1\0',
      'Chassis Co\0',
      'ASSET-7\0',
      'ferry-oem-one\0two, with a comma\0',
    ]) {
      assert.ok(table.includes(text), `the guest's SMBIOS tables have ${JSON.stringify(text)}`);
    }
    // Type 1's UUID field (offset 8), as SMBIOS stores it: the first three groups little-endian.
    const hex = uuid.replace(/-/g, '');
    const swapped = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16)].map((g) => Buffer.from(g, 'hex').reverse().toString('hex')).join('') + hex.slice(16);
    assert.ok(table.includes(Buffer.from(swapped, 'hex').toString('latin1')), "the system UUID is the domain's");
  });

  it('a <vsock> gets its guest CID on /dev/vhost-vsock, or the start names what is missing', async () => {
    const xml = `${dir.path}/vsock.xml`;
    writeFileSync(xml, guestXml({ name: 'vsock', devices: "<vsock model='virtio'><cid auto='yes'/></vsock>" }));
    await host.ok('define', xml);
    assert.match(await host.ok('dumpxml', 'vsock'), /<vsock model='virtio'>\s*<cid auto='yes'\/>\s*<address type='pci'/, 'a PCI address at define, no CID yet');
    if (existsSync('/dev/vhost-vsock')) {
      await host.ok('start', 'vsock');
      const cid = Number(/<cid auto='yes' address='(\d+)'\/>/.exec(await host.ok('dumpxml', 'vsock'))?.[1]);
      assert.ok(cid >= 3, 'the live XML shows the CID acquired');
      assert.equal(await qmp(host, 'vsock', 'qom-get', { path: '/machine/peripheral/vsock0', property: 'guest-cid' }), cid);
      await host.ok('destroy', 'vsock');
    } else {
      // This machine's kernel has no vhost-vsock: the start is refused by name, before QEMU runs.
      const refused = await host.ferry('start', 'vsock');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Unable to open \/dev\/vhost-vsock for the domain's <vsock>: ENOENT[\s\S]*modprobe vhost_vsock[\s\S]*VSOCK_UNAVAILABLE/);
      assert.equal((await host.ok('domstate', 'vsock')).trim(), 'shut off');
    }
  });

  it("runs machine 'isapc' (a PC without PCI): the guest boots and writes its heartbeats to an ISA serial port", async () => {
    const log = `${dir.path}/isapc.log`;
    // No I/O APIC on isapc (the kernel must not look for one), and TCG's 486-era PC wants a little more RAM for the initramfs.
    const xml = guestXml({
      name: 'isapc',
      type: 'qemu',
      memoryMiB: 256,
      console: 'ttyS1',
      extraCmdline: 'noapic',
      devices: `<serial type='file'><source path='${log}'/><target port='1'/></serial><memballoon model='none'/>`,
    })
      .replace("machine='q35'", "machine='isapc'")
      .replace('<features><acpi/><apic/></features>', '<features><apic/></features>');
    writeFileSync(`${dir.path}/isapc.xml`, xml);
    await host.ok('define', `${dir.path}/isapc.xml`);
    const defined = await host.ok('dumpxml', 'isapc');
    assert.doesNotMatch(defined, /<controller type='(pci|usb)'/, 'no PCI root bus and no USB controller are added');
    await host.ok('start', 'isapc');
    assert.equal(await qmp(host, 'isapc', 'qom-get', { path: '/machine', property: 'type' }), 'isapc-machine');
    assert.deepEqual(await qmp(host, 'isapc', 'query-pci'), [], 'QEMU has no PCI bus');
    await waitHeartbeats(() => (existsSync(log) ? readFileSync(log, 'utf8') : ''), 2, { timeoutMs: 90_000 });
    await host.ok('destroy', 'isapc');
  });
});
