import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CliStream } from '../helpers/cli-stream.js';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { parseHeartbeats, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** One QMP command through `ferry qemu-monitor-command`; its return value. */
async function qmp<T>(host: FerrydHost, vm: string, execute: string, args?: Record<string, unknown>): Promise<T> {
  const out = await host.ok('qemu-monitor-command', vm, JSON.stringify(args ? { execute, arguments: args } : { execute }));
  return (JSON.parse(out) as { return: T }).return;
}

/** The devices QEMU has, by id: `/machine/peripheral` (ids given) → their QEMU type. */
async function peripherals(host: FerrydHost, vm: string): Promise<Map<string, string>> {
  const list = await qmp<Array<{ name: string; type: string }>>(host, vm, 'qom-list', { path: '/machine/peripheral' });
  return new Map(list.flatMap((p) => (p.type.startsWith('child<') ? [[p.name, p.type.slice(6, -1)] as [string, string]] : [])));
}

/** QEMU's PCI devices as bus:slot.function → class and vendor:device. */
async function pciFunctions(host: FerrydHost, vm: string): Promise<Map<string, string>> {
  interface Dev {
    bus: number;
    slot: number;
    function: number;
    class_info: { class: number };
    id: { vendor: number; device: number };
    pci_bridge?: { devices: Dev[] };
  }
  const buses = await qmp<Array<{ devices: Dev[] }>>(host, vm, 'query-pci');
  const out = new Map<string, string>();
  const walk = (devs: Dev[]): void => {
    for (const d of devs) {
      out.set(
        `${d.bus}:${d.slot.toString(16)}.${d.function}`,
        `class ${d.class_info.class.toString(16)} ${d.id.vendor.toString(16)}:${d.id.device.toString(16)}`,
      );
      if (d.pci_bridge) walk(d.pci_bridge.devices);
    }
  };
  for (const b of buses) walk(b.devices);
  return out;
}

function dommemstat(text: string): Map<string, number> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, v]) => [k as string, Number(v)]),
  );
}

function qemuArgv(stateDir: string, uuid: string): string[] {
  const [pid] = qemuPidsOf(stateDir, uuid);
  assert.ok(pid, 'a QEMU runs for the domain');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

/**
 * Part 5 of issue 11 on real QEMU: a q35 desktop VM with every kind of device
 * (USB tablet on qemu-xhci, virtio keyboard, ich9 sound on SPICE audio, a SPICE
 * USB redirection with a filter, a rate-limited RNG, an i6300esb watchdog, a
 * balloon reporting statistics, pvpanic on ISA and PCI) runs each of them and
 * keeps them across a live migration; an i440fx VM runs the older USB
 * controllers, AC97 and ib700, whose watchdog, armed by an I/O write as a guest
 * driver does, takes the defined action.
 */
describe('desktop and server devices run, migrate, and act as defined', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop();
  });

  it('q35: xhci, tablet, virtio keyboard, ich9 sound, usb-redir with its filter, rng, i6300esb, balloon stats and pvpanic, before and after a live migration', async () => {
    const name = 'desk';
    const uuid = 'd35c0000-0000-4000-8000-000000000011';
    const devices = `
    <controller type='usb' model='qemu-xhci' ports='8'/>
    <input type='tablet' bus='usb'/>
    <input type='keyboard' bus='virtio'/>
    <graphics type='spice' autoport='yes'/>
    <sound model='ich9'/>
    <redirdev bus='usb' type='spicevmc'/>
    <redirdev bus='usb' type='unix'><source mode='bind' path='${hosts.dir.path}/redir/redir.sock'/><boot order='1'/></redirdev>
    <serial type='spiceport'><source channel='org.qemu.console.serial.1'/><target port='1'/></serial>
    <redirfilter><usbdev class='0x08' vendor='0x15E1' version='1.10' allow='yes'/><usbdev allow='no'/></redirfilter>
    <watchdog model='i6300esb' action='reset'/>
    <memballoon model='virtio' autodeflate='on' freePageReporting='on'><stats period='2'/></memballoon>
    <rng model='virtio'><rate bytes='2048' period='1000'/><backend model='random'>/dev/urandom</backend></rng>
    <panic model='pvpanic'/>`;
    const file = `${hosts.dir.path}/${name}.xml`;
    mkdirSync(`${hosts.dir.path}/redir`);
    chmodSync(`${hosts.dir.path}/redir`, 0o1777); // QEMU's user makes the redirdev's socket there
    // Only the PCI pvpanic (the guest's other one, on ISA, is tested by domain-lifecycle): the panic at the end is its.
    writeFileSync(file, guestXml({ name, uuid, type: 'qemu', devices, extraCmdline: 'unknown_nmi_panic=1' }).replace("<panic model='isa'/>", ''));
    await hosts.a.ok('define', file);
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 60_000 });

    const actual = async (host: FerrydHost): Promise<number | undefined> => dommemstat(await host.ok('dommemstat', name)).get('actual');
    const check = async (host: FerrydHost, where: string): Promise<void> => {
      const p = await peripherals(host, name);
      const expected: Record<string, string> = {
        usb: 'qemu-xhci',
        input0: 'usb-tablet',
        input1: 'virtio-keyboard-pci',
        sound0: 'ich9-intel-hda',
        'sound0-codec0': 'hda-duplex',
        redir0: 'usb-redir',
        redir1: 'usb-redir',
        rng0: 'virtio-rng-pci',
        watchdog0: 'i6300esb',
        balloon0: 'virtio-balloon-pci',
        panic0: 'pvpanic-pci',
      };
      for (const [id, type] of Object.entries(expected)) assert.equal(p.get(id), type, `${where}: QEMU has ${id} (${type}); it has ${[...p].join(', ')}`);
      const get = (id: string, property: string): Promise<unknown> => qmp(host, name, 'qom-get', { path: `/machine/peripheral/${id}`, property });
      assert.equal(await get('redir0', 'filter'), '0x08:0x15E1:-1:0x0110:1|-1:-1:-1:-1:0', `${where}: usb-redir's filter`);
      assert.equal(await get('redir1', 'bootindex'), 1, `${where}: the unix redirdev's <boot order>`);
      const chardevs = new Map((await qmp<Array<{ label: string; filename: string }>>(host, name, 'query-chardev')).map((c) => [c.label, c.filename]));
      assert.equal(
        chardevs.get('charredir1'),
        `disconnected:unix:${hosts.dir.path}/redir/redir.sock,server=on`,
        `${where}: the unix redirdev listens on its socket (no client yet)`,
      );
      assert.equal(chardevs.get('charserial1'), 'spiceport', `${where}: serial1 is a SPICE port`);
      assert.ok(
        qemuArgv(host.stateDir, uuid).some((a) => a.startsWith('spiceport,id=charserial1,name=org.qemu.console.serial.1')),
        `${where}: the SPICE port's name`,
      );
      assert.equal(await get('rng0', 'max-bytes'), 2048, `${where}: rng rate`);
      assert.equal(await get('rng0', 'period'), 1000, `${where}: rng period`);
      assert.equal(await get('balloon0', 'guest-stats-polling-interval'), 2, `${where}: balloon stats period`);
      assert.equal(await get('balloon0', 'deflate-on-oom'), true, `${where}: autodeflate`);
      assert.equal(await get('balloon0', 'free-page-reporting'), true, `${where}: freePageReporting`);
      const audio = await qmp<Array<{ id: string; driver: string }>>(host, name, 'query-audiodevs');
      assert.deepEqual(
        audio.map((x) => `${x.id} ${x.driver}`),
        ['audio1 spice'],
        `${where}: the SPICE audio backend libvirt adds`,
      );
      const argv = qemuArgv(host.stateDir, uuid);
      assert.equal(argv[argv.indexOf('-watchdog-action') + 1], 'reset', `${where}: watchdog action`);
      const stats = dommemstat(await host.ok('dommemstat', name));
      assert.ok((stats.get('actual') ?? 0) > 0 && (stats.get('rss') ?? 0) > 0, `${where}: dommemstat actual and rss`);
    };
    await check(hosts.a, 'A');
    assert.equal(await actual(hosts.a), 128 * 1024, 'the guest starts with all its memory');

    // The guest sees its devices (its boot-time device report on the serial console, when the test guest has one).
    await eventually(() => /ferry-guest: report done/.test(hosts.a.serialLog(name)), 'the guest device report', 120_000).catch(() => undefined);
    const report = hosts.a.serialLog(name);
    if (/ferry-guest: report done/.test(report)) {
      assert.match(report, /ferry-guest: input name="[^"]*USB Tablet"/, 'the guest sees the tablet');
      assert.match(report, /ferry-guest: pci \S+ 1b36:0011 class=\S+ driver=pvpanic-pci/, 'the guest drives the PCI pvpanic');
      assert.match(report, /ferry-guest: input name="QEMU Virtio Keyboard"/, 'the guest sees the virtio keyboard');
      assert.match(report, /ferry-guest: hwrng current=virtio_rng\.0 read=16/, 'the guest reads its RNG');
      assert.match(report, /ferry-guest: watchdog watchdog0 identity="i6300ESB timer"/, 'the guest sees the watchdog');
    }

    // setmem: the balloon's target in the live definition; --config changes the next start; more than <memory> is refused.
    await hosts.a.ok('setmem', name, '120M');
    assert.match(await hosts.a.ok('dumpxml', name), /<currentMemory unit='KiB'>122880<\/currentMemory>/);
    await eventually(async () => (await actual(hosts.a)) === 120 * 1024, "the guest's balloon driver gives the memory back", 60_000);
    const tooBig = await hosts.a.ferry('setmem', name, '1G');
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /cannot set memory higher than max memory/);
    await hosts.a.ok('dommemstat', name, '--period', '3', '--live', '--config');
    assert.equal(await qmp(hosts.a, name, 'qom-get', { path: '/machine/peripheral/balloon0', property: 'guest-stats-polling-interval' }), 3);
    await hosts.a.ok('dommemstat', name, '--period', '2', '--live', '--config');

    const r = await hosts.a.ferry('migrate', '--live', '--persistent', '--undefinesource', name, hosts.bPeer);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await hosts.b.state(name), 'running (migrated)');
    await check(hosts.b, 'B');
    assert.match(await hosts.b.ok('dumpxml', name), /<currentMemory unit='KiB'>122880<\/currentMemory>/, 'the balloon target travelled');
    assert.equal(await actual(hosts.b), 120 * 1024, 'the balloon kept its size');
    // pvpanic-pci works on B: an NMI makes the guest panic (unknown_nmi_panic=1) and QEMU hears of it through the device.
    await hosts.b.ok('inject-nmi', name);
    await hosts.b.waitState(name, 'crashed (panicked)', 60_000);
    await hosts.b.ok('destroy', name);
    await hosts.b.ok('undefine', name);
  });

  it('i440fx: piix3-uhci, ich9-ehci1 with its uhci companions, ac97 and ib700; the watchdog pauses the VM when it fires, and reports it', async () => {
    const name = 'oldpc';
    const uuid = 'd35c0000-0000-4000-8000-000000000012';
    const devices = `
    <controller type='usb' index='0' model='piix3-uhci'/>
    <controller type='usb' index='1' model='ich9-ehci1'/>
    <controller type='usb' index='1' model='ich9-uhci1'><master startport='0'/></controller>
    <controller type='usb' index='1' model='ich9-uhci2'><master startport='2'/></controller>
    <controller type='usb' index='1' model='ich9-uhci3'><master startport='4'/></controller>
    <input type='mouse' bus='usb'><address type='usb' bus='1' port='3'/></input>
    <input type='keyboard' bus='usb'/>
    <sound model='ac97'/>
    <watchdog model='ib700' action='pause'/>
    <memballoon model='none'/>`;
    const xml = guestXml({ name, uuid, type: 'qemu', devices }).replace("machine='q35'", "machine='pc'");
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const defined = await hosts.a.ok('dumpxml', name);
    // The EHCI and its companions share one slot (EHCI function 7, UHCI1-3 functions 0-2); piix3-uhci is PIIX3's 01.2.
    const slot =
      /<controller type='usb' index='1' model='ich9-ehci1'>\s*<address type='pci' domain='0x0000' bus='0x00' slot='(0x[0-9a-f]+)' function='0x7'\/>/.exec(
        defined,
      )?.[1];
    assert.ok(slot, defined);
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 2, { timeoutMs: 60_000 });

    const p = await peripherals(hosts.a, name);
    for (const [id, type] of Object.entries({
      usb: 'piix3-usb-uhci',
      usb1: 'ich9-usb-ehci1',
      input0: 'usb-mouse',
      input1: 'usb-kbd',
      sound0: 'AC97',
      watchdog0: 'ib700',
    })) {
      assert.equal(p.get(id), type, `QEMU has ${id} (${type}): ${[...p].join(', ')}`);
    }
    assert.ok(![...p.values()].some((t) => t.includes('balloon')), "model='none': no balloon");
    const pci = await pciFunctions(hosts.a, name);
    const s = Number(slot).toString(16);
    assert.match(pci.get('0:1.2') ?? '', /^class c03 8086:7020$/, 'PIIX3 UHCI at 01.2');
    assert.match(pci.get(`0:${s}.7`) ?? '', /^class c03 8086:293a$/, 'ICH9 EHCI at function 7');
    for (const [fn, dev] of [
      [0, '2934'],
      [1, '2935'],
      [2, '2936'],
    ] as const)
      assert.match(pci.get(`0:${s}.${fn}`) ?? '', new RegExp(`^class c03 8086:${dev}$`), `UHCI companion at function ${fn}`);
    const mouse = await qmp<string>(hosts.a, name, 'qom-get', { path: '/machine/peripheral/input0', property: 'port' });
    assert.equal(mouse, '3', 'the mouse sits on the port its address names');
    const noBalloon = await hosts.a.ferry('setmem', name, '100M');
    assert.match(noBalloon.stderr, /without the balloon device/);
    assert.equal(dommemstat(await hosts.a.ok('dommemstat', name)).get('actual'), 128 * 1024);

    // Arm the ib700 as its guest driver does (an I/O write to port 0x443: 2 s) and stop feeding it.
    const events = new CliStream(['event', '--domain', name, '--all', '--loop'], { FERRY_DEFAULT_URI: hosts.a.uri });
    try {
      // The stream listens once it shows a suspend and resume (repeated until it does: it may connect after the first).
      await eventually(async () => {
        if (/Resumed/.test(events.output())) return true;
        await hosts.a.ok('suspend', name);
        await hosts.a.ok('resume', name);
        return false;
      }, 'the event stream shows a suspend and resume');
      await qmp(hosts.a, name, 'human-monitor-command', { 'command-line': 'o /b 0x443 14' });
      await hosts.a.waitState(name, 'paused (watchdog)', 60_000);
      await events.waitFor(/event 'watchdog' for domain 'oldpc': pause\n/, 'the watchdog event');
      await events.waitFor(/event 'lifecycle' for domain 'oldpc': Suspended Watchdog\n/, 'the watchdog suspend');
    } finally {
      await events.stop();
    }
    await hosts.a.ok('destroy', name);

    // poweroff: QEMU exits at once; libvirt (and ferry) call that shut off (crashed).
    await hosts.a.ok('undefine', name);
    writeFileSync(file, xml.replace("action='pause'", "action='poweroff'"));
    await hosts.a.ok('define', file);
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 1, { timeoutMs: 60_000 });
    await qmp(hosts.a, name, 'human-monitor-command', { 'command-line': 'o /b 0x443 14' });
    await hosts.a.waitState(name, 'shut off (crashed)', 60_000);
    await hosts.a.ok('undefine', name);

    // dump: QEMU pauses, ferryd writes the guest's memory to STATE_DIR/dump and lets it run on; then a panic with
    // on_crash='coredump-destroy' writes another before QEMU goes.
    const dumps = (): string[] => (existsSync(`${hosts.a.stateDir}/dump`) ? readdirSync(`${hosts.a.stateDir}/dump`) : []);
    const elf = (file: string): boolean =>
      readFileSync(`${hosts.a.stateDir}/dump/${file}`)
        .subarray(0, 4)
        .equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    writeFileSync(file, xml.replace("action='pause'", "action='dump'").replace('<on_crash>preserve</on_crash>', '<on_crash>coredump-destroy</on_crash>'));
    await hosts.a.ok('define', file);
    await hosts.a.ok('start', name);
    await waitHeartbeats(() => hosts.a.serialLog(name), 1, { timeoutMs: 60_000 });
    const seq = parseHeartbeats(hosts.a.serialLog(name)).at(-1)?.seq ?? 0;
    await qmp(hosts.a, name, 'human-monitor-command', { 'command-line': 'o /b 0x443 14' });
    await eventually(() => dumps().length === 1, 'the watchdog dump is written', 60_000);
    assert.match(dumps()[0] ?? '', /^\d+-oldpc-\d{4}-\d\d-\d\d-\d\d:\d\d:\d\d$/, "libvirt's ID-NAME-TIMESTAMP");
    await hosts.a.waitState(name, 'running (unpaused)', 60_000);
    assert.ok(elf(dumps()[0] as string), 'an ELF core');
    await waitHeartbeats(() => hosts.a.serialLog(name), 1, { afterSeq: seq, timeoutMs: 60_000 });
    // pvpanic on ISA (port 0x505): the guest reports a panic.
    await qmp(hosts.a, name, 'human-monitor-command', { 'command-line': 'o /b 0x505 1' });
    await hosts.a.waitState(name, 'shut off (crashed)', 60_000);
    assert.equal(dumps().length, 2, 'coredump-destroy wrote a dump before QEMU went');
    assert.ok(dumps().every(elf));
    const log = readFileSync(`${hosts.a.stateDir}/log/${name}.log`, 'utf8');
    assert.match(log, /core dump \(watchdog\) written to \S+\/dump\/\d+-oldpc-/);
    assert.match(log, /core dump \(crash\) written to /);
    await hosts.a.ok('undefine', name);
  });

  it("refuses what it cannot run: USB devices with <controller model='none'>, itco on i440fx, a pulseaudio backend", async () => {
    const refuse = async (devices: string, machine: string, re: RegExp): Promise<void> => {
      const file = `${hosts.dir.path}/bad.xml`;
      writeFileSync(file, guestXml({ name: 'bad', type: 'qemu', devices }).replace("machine='q35'", `machine='${machine}'`));
      const r = await hosts.a.ferry('define', file);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, re);
    };
    await refuse("<controller type='usb' model='none'/><input type='tablet' bus='usb'/>", 'q35', /USB devices need a USB controller/);
    await refuse("<watchdog model='itco'/>", 'pc', /model 'itco' is part of q35's ICH9 chipset/);
    await refuse("<sound model='ich9'/><audio id='1' type='pulseaudio'/>", 'q35', /pulseaudio/);
    await refuse("<sound model='ich9'/><audio id='1' type='spice'/>", 'q35', /there is no <graphics type='spice'>/);
    // Two USB buses: libvirt adds hubs only where a domain has one, so ferry asks for them.
    await refuse(
      "<controller type='usb' index='0' model='piix3-uhci'/><controller type='usb' index='1' model='piix3-uhci'/><input type='tablet' bus='usb'/><input type='mouse' bus='usb'/><input type='keyboard' bus='usb'/><input type='tablet' bus='usb'/><input type='mouse' bus='usb'/>",
      'pc',
      /do not fit the USB controllers' ports \(piix3-uhci has 2, piix3-uhci has 2\)/,
    );
  });

  it('adds a USB hub where the one USB bus runs out of ports, as libvirt does, and QEMU has it', async () => {
    const name = 'hubbed';
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(
      file,
      guestXml({
        name,
        type: 'qemu',
        memoryMiB: 64,
        devices: "<controller type='usb' model='piix3-uhci'/><input type='tablet' bus='usb'/><input type='mouse' bus='usb'/><input type='keyboard' bus='usb'/>",
      }).replace("machine='q35'", "machine='pc'"),
    );
    await hosts.a.ok('define', file);
    // The hub is in the stored definition, on port 1; the devices fill port 2, then the hub's ports.
    const defined = await hosts.a.ok('dumpxml', name);
    assert.match(defined, /<hub type='usb'>\s*<address type='usb' bus='0' port='1'\/>/);
    assert.deepEqual(
      [...defined.matchAll(/<input type='\w+' bus='usb'>\s*<address type='usb' bus='0' port='([\d.]+)'\/>/g)].map((m) => m[1]),
      ['2', '1.1', '1.2'],
    );
    await hosts.a.ok('start', name);
    const p = await peripherals(hosts.a, name);
    assert.equal(p.get('hub0'), 'usb-hub');
    assert.equal(await qmp(hosts.a, name, 'qom-get', { path: '/machine/peripheral/input2', property: 'port' }), '1.2', 'the keyboard is on the hub');
    await hosts.a.ok('destroy', name);
    await hosts.a.ok('undefine', name);
  });
});
