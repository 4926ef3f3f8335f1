import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { buildQemuArgv } from '../argv.js';
import { machineFamily } from '../../vm/machine-family.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/libvirt-qemuxml');

/** The values of one option in libvirt's .args of a fixture (shell quotes taken off). */
function libvirtOption(name: string, opt: string): string[] {
  const text = readFileSync(join(FIXTURES, `${name}.x86_64-latest.args`), 'utf8');
  return text.split('\n').flatMap((line) => {
    const m = /^(-\S+) (.*?)(?: \\)?$/.exec(line);
    if (!m || m[1] !== opt) return [];
    const v = m[2] as string;
    return [v.startsWith("'") && v.endsWith("'") ? v.slice(1, -1) : v];
  });
}

function ferryArgv(name: string, edit: (xml: string) => string = (x) => x): string[] {
  const def = parseDomainXml(edit(readFileSync(join(FIXTURES, `${name}.x86_64-latest.xml`), 'utf8')));
  assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, `${name}: dumpxml round trip`);
  return buildQemuArgv({
    def,
    accel: 'tcg',
    machine: machineFamily(def.os.machine ?? 'pc') === 'q35' ? 'pc-q35-10.0' : 'pc-i440fx-10.0',
    qmpSocket: '/q',
    pidfile: '/p',
    resolveDisk: () => ({ kind: 'empty' }),
    tapFds: def.devices.interfaces.map((_, i) => 100 + i),
    now: new Date(0),
  });
}

const ferryOption = (argv: string[], opt: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === opt ? [a] : []));

describe("<sysinfo>, <os><smbios>, the PC speaker and the RTC's track: libvirt 11's QEMU arguments", () => {
  for (const name of ['smbios', 'smbios-type-fwcfg']) {
    it(`${name}: -smbios and -fw_cfg`, () => {
      const argv = ferryArgv(name);
      for (const opt of ['-smbios', '-fw_cfg']) assert.deepEqual(ferryOption(argv, opt), libvirtOption(name, opt), `${name} ${opt}`);
      assert.ok(libvirtOption(name, '-smbios').length > 0);
    });
  }

  it("mode='emulate' (or no <smbios>) leaves QEMU's own tables; mode='host' is refused with a hint", () => {
    const xml = readFileSync(join(FIXTURES, 'smbios.x86_64-latest.xml'), 'utf8');
    assert.deepEqual(
      ferryOption(
        ferryArgv('smbios', (x) => x.replace("<smbios mode='sysinfo'/>", "<smbios mode='emulate'/>")),
        '-smbios',
      ),
      [],
    );
    assert.throws(() => parseDomainXml(xml.replace("<smbios mode='sysinfo'/>", "<smbios mode='host'/>")), /mode='host'.*migration/s);
    assert.throws(
      () => parseDomainXml(xml.replace('c7a5fdbd-edaf-9455-926a-d65c16db1809</entry>', '00000000-0000-0000-0000-000000000001</entry>')),
      /UUID mismatch/,
    );
    // Without a <uuid>, the domain takes the system uuid, as libvirt does.
    assert.equal(parseDomainXml(xml.replace('<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>', '')).uuid, 'c7a5fdbd-edaf-9455-926a-d65c16db1809');
  });

  it('clock-realtime: -rtc clock=rt', () => {
    assert.deepEqual(ferryOption(ferryArgv('clock-realtime'), '-rtc'), libvirtOption('clock-realtime', '-rtc'));
  });

  for (const name of ['sound-device', 'console-compat-crash']) {
    it(`${name}: the PC speaker plays to its audiodev (-machine pcspk-audiodev=)`, () => {
      const argv = ferryArgv(name);
      const theirs = (libvirtOption(name, '-machine')[0] as string).split(',').filter((o) => o.startsWith('pcspk-audiodev='));
      assert.deepEqual(theirs, ['pcspk-audiodev=audio1']);
      assert.deepEqual(
        (ferryOption(argv, '-machine')[0] as string).split(',').filter((o) => o.startsWith('pcspk-audiodev=')),
        theirs,
      );
      assert.ok(!argv.some((a) => a.includes('pcspk,') || a.startsWith('pcspk')), 'no -device of its own');
    });
  }
});

/** libvirt's JSON -device of one driver in a fixture's .args. */
function libvirtJsonDevices(name: string, driver: string): Array<Record<string, unknown>> {
  return libvirtOption(name, '-device')
    .filter((v) => v.startsWith('{'))
    .map((v) => JSON.parse(v) as Record<string, unknown>)
    .filter((j) => j.driver === driver);
}

describe("virtio-scsi <driver><iothreads>: libvirt 11's iothread-vq-mapping", () => {
  it('iothreads-virtio-scsi-mapping: both controllers, property for property', () => {
    const argv = ferryArgv('iothreads-virtio-scsi-mapping');
    const ours = ferryOption(argv, '-device')
      .filter((v) => v.startsWith('{'))
      .map((v) => JSON.parse(v) as Record<string, unknown>)
      .filter((j) => j.driver === 'virtio-scsi-pci');
    assert.deepEqual(ours, libvirtJsonDevices('iothreads-virtio-scsi-mapping', 'virtio-scsi-pci'));
  });

  it('iothreads-disk: virtio-blk with and without queue mapping (ferry names its drives and disks its own way)', () => {
    const argv = ferryArgv('iothreads-disk');
    const strip = (o: Record<string, unknown>): Record<string, unknown> => ({
      ...o,
      drive: undefined,
      id: undefined,
      'write-cache': undefined,
      bootindex: undefined,
    });
    const ours = ferryOption(argv, '-device')
      .filter((v) => v.startsWith('{'))
      .map((v) => JSON.parse(v) as Record<string, unknown>)
      .filter((j) => j.driver === 'virtio-blk-pci')
      .map(strip);
    assert.equal(ours.length, 2);
    assert.deepEqual(
      ours,
      libvirtJsonDevices('iothreads-disk', 'virtio-blk-pci')
        .filter((j) => j['iothread-vq-mapping'])
        .map(strip),
    );
  });

  it('refuses a mapping QEMU or libvirt would refuse', () => {
    const xml = readFileSync(join(FIXTURES, 'iothreads-virtio-scsi-mapping.x86_64-latest.xml'), 'utf8');
    assert.throws(() => parseDomainXml(xml.replace("<iothread id='4'>", "<iothread id='9'>")), /Cannot find 'iothread' : 9/);
    assert.throws(() => parseDomainXml(xml.replace("<queue id='1'/>", "<queue id='0'/>")), /mapped more than once/);
    assert.throws(() => parseDomainXml(xml.replace("<driver queues='2'>", "<driver queues='3'>")), /every queue/);
    assert.throws(() => parseDomainXml(xml.replace("<driver queues='2'>", "<driver queues='2' ioeventfd='off'>")), /ioeventfd is required for iothread/);
    const disk = readFileSync(join(FIXTURES, 'iothreads-disk.x86_64-latest.xml'), 'utf8');
    assert.throws(
      () => parseDomainXml(disk.replace("<driver name='qemu' type='raw' queues='4'>", "<driver name='qemu' type='raw' queues='4' ioeventfd='off'>")),
      /ioeventfd is required for iothread/,
    );
  });
});

/** A key=value QEMU option as libvirt's JSON would type it (for comparing the two forms). */
function asJson(v: string, typeKey: string): Record<string, unknown> {
  if (v.startsWith('{')) return JSON.parse(v) as Record<string, unknown>;
  const [first, ...rest] = v.split(',');
  const obj: Record<string, unknown> = { [typeKey]: first };
  for (const p of rest) {
    const [k, val] = p.split('=') as [string, string];
    obj[k] = /^\d+$/.test(val) && k !== 'port' ? Number(val) : val === 'on' ? true : val === 'off' ? false : val;
  }
  return obj;
}

describe("<crypto>: libvirt 11's backend object and virtio-crypto-pci", () => {
  it('crypto-builtin', () => {
    const argv = ferryArgv('crypto-builtin');
    const objects = (a: string[]): unknown[] =>
      a.map((v) => asJson(v, 'qom-type')).filter((o) => String((o as Record<string, unknown>)['qom-type']).startsWith('cryptodev'));
    assert.deepEqual(objects(ferryOption(argv, '-object')), objects(libvirtOption('crypto-builtin', '-object')));
    const devices = (a: string[]): unknown[] => a.map((v) => asJson(v, 'driver')).filter((o) => (o as Record<string, unknown>).driver === 'virtio-crypto-pci');
    assert.deepEqual(devices(ferryOption(argv, '-device')), devices(libvirtOption('crypto-builtin', '-device')));
    assert.equal(devices(ferryOption(argv, '-device')).length, 1);
  });

  it('refuses the lkcf backend with a hint', () => {
    const xml = readFileSync(join(FIXTURES, 'crypto-builtin.x86_64-latest.xml'), 'utf8');
    assert.throws(() => parseDomainXml(xml.replace("model='builtin'", "model='lkcf'")), /cryptodev-backend-lkcf/);
  });
});

describe("blob='off', ioeventfd, event_idx and virtio-scsi's tuning: libvirt 11's device properties", () => {
  // vhost-net is ferry's refusal (no vhost descriptor is handed to QEMU): the interfaces run in QEMU for the comparison.
  const cases: Array<[string, string]> = [
    ['sound-device', 'usb-audio'],
    ['video-virtio-blob-off', 'virtio-vga'],
    ['video-virtio-blob-off', 'virtio-gpu-pci'],
    ['controller-virtio-scsi', 'virtio-scsi-pci'],
    ['disk-ioeventfd', 'virtio-blk-pci'],
    ['disk-ioeventfd', 'virtio-net-pci'],
    ['event_idx', 'virtio-blk-pci'],
    ['event_idx', 'virtio-net-pci'],
  ];
  for (const [name, driver] of cases) {
    it(`${name}: ${driver}`, () => {
      const argv = ferryArgv(name, (x) => x.replace(/<driver name='vhost'/g, "<driver name='qemu'"));
      const pick = (a: string[]): Array<Record<string, unknown>> => a.map((v) => asJson(v, 'driver')).filter((o) => o.driver === driver);
      const theirs = pick(libvirtOption(name, '-device'));
      const ours = pick(ferryOption(argv, '-device'));
      assert.ok(theirs.length > 0);
      assert.equal(ours.length, theirs.length);
      // Every property libvirt sets, with its value (ferry names drives, netdevs and disks its own way: disk-vda).
      theirs.forEach((props, i) => {
        for (const [k, v] of Object.entries(props))
          if (k !== 'drive' && k !== 'netdev' && !(k === 'id' && driver === 'virtio-blk-pci')) assert.deepEqual(ours[i]?.[k], v, `${driver} #${i}: ${k}`);
      });
    });
  }

  it("blob='on' is refused with its reason", () => {
    assert.throws(() => parseDomainXml(readFileSync(join(FIXTURES, 'video-virtio-blob-on.x86_64-latest.xml'), 'utf8')), /udmabuf/);
  });
});

describe('a virtio channel without a name: virtserialport without name=, as libvirt 11', () => {
  it('channel-virtio-default', () => {
    const argv = ferryArgv('channel-virtio-default');
    const ports = (a: string[]): unknown[] =>
      a
        .map((v) => asJson(v, 'driver'))
        .filter((o) => o.driver === 'virtserialport')
        .map((o) => ({ ...o, nr: undefined, bus: undefined }));
    assert.deepEqual(ports(ferryOption(argv, '-device')), ports(libvirtOption('channel-virtio-default', '-device')));
  });

  it('channel-virtio-unix: unix channels without a path, one of them unnamed, as libvirt 11', () => {
    const argv = ferryArgv('channel-virtio-unix');
    const ports = (a: string[]): unknown[] => a.map((v) => asJson(v, 'driver')).filter((o) => o.driver === 'virtserialport');
    assert.deepEqual(ports(ferryOption(argv, '-device')), ports(libvirtOption('channel-virtio-unix', '-device')));
  });
});

describe("<cpu><numa> HMAT (<cache>, <interconnects>): libvirt 11's -numa and hmat=on", () => {
  for (const name of ['numatune-hmat', 'numatune-hmat-none']) {
    it(`${name}: every -numa, node initiators included`, () => {
      const argv = ferryArgv(name);
      assert.deepEqual(ferryOption(argv, '-numa'), libvirtOption(name, '-numa'));
      assert.ok((ferryOption(argv, '-machine')[0] as string).split(',').includes('hmat=on'));
      assert.ok((libvirtOption(name, '-machine')[0] as string).split(',').includes('hmat=on'));
    });
  }

  it('refuses an interconnect to a cache the target does not have, or from a node without vCPUs', () => {
    const xml = readFileSync(join(FIXTURES, 'numatune-hmat.x86_64-latest.xml'), 'utf8');
    assert.throws(() => parseDomainXml(xml.replace("cache='1' type='access' value='10'", "cache='2' type='access' value='10'")), /no cache level 2/);
    assert.throws(
      () =>
        parseDomainXml(
          xml.replace("<latency initiator='0' target='0' type='access' value='5'/>", "<latency initiator='3' target='0' type='access' value='5'/>"),
        ),
      /has no vCPUs/,
    );
  });
});
