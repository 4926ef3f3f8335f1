import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQemuArgv } from '../qemu/argv.js';
import { parseDomainXml } from './parse-domain-xml.js';
import { renderDomainXml } from './render-domain-xml.js';
import { qemuEnvironment } from './qemu-namespace.js';
import { emulatorFor } from '../qemu/emulator.js';
import { clockEnvironment } from './clock-offset.js';

const domain = (extra: string, top = "<domain type='qemu'>", os = "<type arch='x86_64' machine='pc-q35-10.0'>hvm</type>"): string =>
  `${top}<name>t</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>65536</memory><vcpu>1</vcpu><os>${os}</os>${extra}</domain>`;

const argvOf = (xml: string): string[] =>
  buildQemuArgv({
    def: parseDomainXml(xml),
    accel: 'tcg',
    machine: 'pc-q35-10.0',
    qmpSocket: '/q',
    pidfile: '/p',
    resolveDisk: () => ({ kind: 'empty' }),
    tapFds: [],
  });

const roundTrip = (xml: string): void => {
  const d = parseDomainXml(xml);
  assert.deepEqual(parseDomainXml(renderDomainXml(d)), d);
};

const QEMU_NS = "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>";

test('<qemu:commandline>: args appended to argv, env to the environment, kept in dumpxml', () => {
  const xml = domain(
    "<qemu:commandline><qemu:arg value='-unknown'/><qemu:arg value='parameter'/><qemu:env name='NS' value='ns'/><qemu:env name='BAR'/></qemu:commandline>",
    QEMU_NS,
  );
  roundTrip(xml);
  assert.deepEqual(argvOf(xml).slice(-2), ['-unknown', 'parameter']);
  assert.deepEqual(qemuEnvironment(parseDomainXml(xml).qemuCommandline, { LC_ALL: 'C' }), { LC_ALL: 'C', NS: 'ns', BAR: '' });
  assert.match(renderDomainXml(parseDomainXml(xml)), /<domain type='qemu' xmlns:qemu='http:\/\/libvirt.org\/schemas\/domain\/qemu\/1.0'>/);
  assert.throws(
    () => parseDomainXml(domain("<qemu:commandline><qemu:arg value='x'/></qemu:commandline>", "<domain type='qemu' xmlns:qemu='urn:other'>")),
    /must be bound/,
  );
  assert.throws(() => parseDomainXml(domain("<qemu:commandline><qemu:env name='1X' value='a'/></qemu:commandline>", QEMU_NS)), /invalid environment name/);
});

test('<seclabel>: dac dynamic/none and none/none kept; selinux refused', () => {
  for (const s of ["<seclabel type='none' model='none'/>", "<seclabel type='none' model='dac'/>", "<seclabel type='dynamic' model='dac' relabel='yes'/>"]) {
    roundTrip(domain(s));
    assert.ok(renderDomainXml(parseDomainXml(domain(s))).includes(s.replace(" relabel='yes'", " relabel='yes'")));
  }
  assert.throws(() => parseDomainXml(domain("<seclabel type='dynamic' model='selinux' relabel='yes'/>")), /model='selinux'/);
});

test("<cpu><maxphysaddr>: libvirt's -cpu flags for each mode, kept in dumpxml", () => {
  const cases: Array<[string, string]> = [
    ["<maxphysaddr mode='emulate' bits='42'/>", 'phys-bits=42'],
    ["<maxphysaddr mode='emulate'/>", 'host-phys-bits=off'],
    ["<maxphysaddr mode='passthrough'/>", 'host-phys-bits=on'],
    ["<maxphysaddr mode='passthrough' limit='39'/>", 'host-phys-bits=on,host-phys-bits-limit=39'],
  ];
  for (const [m, flags] of cases) {
    const xml = domain(`<cpu mode='custom'><model>qemu64</model>${m}</cpu>`);
    roundTrip(xml);
    const argv = argvOf(xml);
    assert.equal(argv[argv.indexOf('-cpu') + 1], `qemu64,${flags}`);
  }
  assert.throws(() => parseDomainXml(domain("<cpu mode='custom'><model>qemu64</model><maxphysaddr mode='emulate' bits='60'/></cpu>")), /out of range/);
});

test('<memory dumpCore>, <os><acpi><table>, <type arch=i686>', () => {
  const core = domain('<features><acpi/></features>').replace('<memory>', "<memory dumpCore='on'>");
  roundTrip(core);
  assert.match(argvOf(core).find((a) => a.startsWith('pc-q35')) ?? '', /dump-guest-core=on/);
  const acpi = domain(
    '<features><acpi/></features>',
    undefined,
    "<type arch='x86_64' machine='pc-q35-10.0'>hvm</type><acpi><table type='raw'>/a.dat</table><table type='slic'>/s.dat</table></acpi>",
  );
  roundTrip(acpi);
  const argv = argvOf(acpi);
  assert.deepEqual(
    argv.filter((_, i) => argv[i - 1] === '-acpitable'),
    ['file=/a.dat', 'sig=SLIC,file=/s.dat'],
  );
  assert.throws(() => parseDomainXml(acpi.replace('<features><acpi/></features>', '')), /ACPI tables need ACPI/);
  const i686 = domain('', undefined, "<type arch='i686' machine='pc-q35-10.0'>hvm</type>");
  roundTrip(i686);
  assert.equal(emulatorFor(parseDomainXml(i686), '/usr/bin/qemu-system-x86_64'), '/usr/bin/qemu-system-i386');
  assert.equal(emulatorFor(parseDomainXml(domain('')), '/usr/bin/qemu-system-x86_64'), '/usr/bin/qemu-system-x86_64');
});

test('<iothreadids> and <cputune><iothreadpin>: objects by id, kept in dumpxml, unknown ids refused', () => {
  const xml = domain(
    "<iothreads>3</iothreads><iothreadids><iothread id='5'/><iothread id='2'/></iothreadids><cputune><iothreadpin iothread='5' cpuset='0'/></cputune>",
  );
  roundTrip(xml);
  const def = parseDomainXml(xml);
  assert.deepEqual(def.iothreadIds, [5, 2, 1]);
  assert.deepEqual(def.cputune?.iothreadpins, [{ iothread: 5, cpuset: '0' }]);
  const argv = argvOf(xml);
  assert.deepEqual(
    argv.filter((a, i) => argv[i - 1] === '-object' && a.startsWith('iothread,')),
    ['iothread,id=iothread5', 'iothread,id=iothread2', 'iothread,id=iothread1'],
  );
  assert.throws(
    () => parseDomainXml(domain("<iothreads>1</iothreads><cputune><iothreadpin iothread='2' cpuset='0'/></cputune>")),
    /Cannot find 'iothread' : 2/,
  );
});

test("<audio type=file> with timerPeriod, path and <input>/<output> settings: libvirt's -audiodev, kept in dumpxml", () => {
  const xml = domain(
    "<devices><sound model='ich9'/><audio id='1' type='file' timerPeriod='50' path='/tmp/a.wav'><output voices='2' bufferLength='200'><settings frequency='22050' channels='4' format='f32'/></output></audio></devices>",
  );
  roundTrip(xml);
  const argv = argvOf(xml);
  assert.equal(
    argv[argv.indexOf('-audiodev') + 1],
    '{"id":"audio1","driver":"wav","timer-period":50,"path":"/tmp/a.wav","out":{"voices":2,"buffer-length":200,"frequency":22050,"channels":4,"format":"f32"}}',
  );
  assert.throws(() => parseDomainXml(domain("<devices><audio id='1' type='none' path='/x.wav'/></devices>")), /path is for type='file' only/);
});

test('<clock offset=variable|absolute|timezone>: -rtc base as libvirt computes it, kept in dumpxml', () => {
  const at = new Date(1234567890000);
  const rtc = (clock: string): string => {
    const def = parseDomainXml(domain(clock));
    const argv = buildQemuArgv({
      def,
      accel: 'tcg',
      machine: 'pc-q35-10.0',
      qmpSocket: '/q',
      pidfile: '/p',
      resolveDisk: () => ({ kind: 'empty' }),
      tapFds: [],
      now: at,
    });
    return argv[argv.indexOf('-rtc') + 1] as string;
  };
  for (const c of [
    "<clock offset='variable' adjustment='123456' basis='utc'/>",
    "<clock offset='absolute' start='253402300799'/>",
    "<clock offset='timezone' timezone='Europe/Paris'/>",
  ]) {
    roundTrip(domain(c));
    assert.ok(renderDomainXml(parseDomainXml(domain(c))).includes(c));
  }
  assert.equal(rtc("<clock offset='variable' adjustment='123456' basis='utc'/>"), 'base=2009-02-15T09:49:06');
  assert.equal(rtc("<clock offset='absolute' start='253402300799'/>"), 'base=9999-12-31T23:59:59');
  assert.equal(rtc("<clock offset='timezone' timezone='Europe/Paris'/>"), 'base=localtime');
  assert.deepEqual(clockEnvironment(parseDomainXml(domain("<clock offset='timezone' timezone='Europe/Paris'/>"))), { TZ: 'Europe/Paris' });
  assert.throws(() => parseDomainXml(domain("<clock offset='timezone' timezone='../../etc/passwd'/>")), /invalid timezone name/);
  assert.throws(() => parseDomainXml(domain("<clock offset='utc' adjustment='5'/>")), /adjustment is not allowed/);
});

test("<graphics type='vnc' socket=>: libvirt's older form of <listen type='socket'>, written beside it; -vnc vnc=unix:PATH", () => {
  const xml = domain("<devices><graphics type='vnc' socket='/tmp/foo=bar.sock'/></devices>");
  roundTrip(xml);
  const out = renderDomainXml(parseDomainXml(xml));
  assert.match(out, /<graphics type='vnc' port='-1' autoport='yes' socket='\/tmp\/foo=bar.sock'>\s*<listen type='socket' socket='\/tmp\/foo=bar.sock'\/>/);
  const argv = argvOf(xml);
  assert.equal(argv[argv.indexOf('-vnc') + 1], 'vnc=unix:/tmp/foo=bar.sock');
  assert.throws(
    () => parseDomainXml(domain("<devices><graphics type='vnc' socket='/a.sock'><listen type='address' address='127.0.0.1'/></graphics></devices>")),
    /does not match its <listen>/,
  );
});
