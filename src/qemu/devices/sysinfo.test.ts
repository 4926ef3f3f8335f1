import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { buildQemuArgv } from '../argv.js';

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
    def, accel: 'tcg', machine: def.os.machine === 'q35' ? 'pc-q35-10.0' : 'pc-i440fx-10.0', qmpSocket: '/q', pidfile: '/p',
    resolveDisk: () => ({ kind: 'empty' }), tapFds: def.devices.interfaces.map((_, i) => 100 + i), now: new Date(0),
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
    assert.deepEqual(ferryOption(ferryArgv('smbios', (x) => x.replace("<smbios mode='sysinfo'/>", "<smbios mode='emulate'/>")), '-smbios'), []);
    assert.throws(() => parseDomainXml(xml.replace("<smbios mode='sysinfo'/>", "<smbios mode='host'/>")), /mode='host'.*migration/s);
    assert.throws(() => parseDomainXml(xml.replace('c7a5fdbd-edaf-9455-926a-d65c16db1809</entry>', '00000000-0000-0000-0000-000000000001</entry>')), /UUID mismatch/);
  });

  it('clock-realtime: -rtc clock=rt', () => {
    assert.deepEqual(ferryOption(ferryArgv('clock-realtime'), '-rtc'), libvirtOption('clock-realtime', '-rtc'));
  });

  for (const name of ['sound-device', 'console-compat-crash']) {
    it(`${name}: the PC speaker plays to its audiodev (-machine pcspk-audiodev=)`, () => {
      // usb-audio is not ferry's: left out of sound-device.
      const argv = ferryArgv(name, (x) => x.replace("<sound model='usb' multichannel='yes'/>", ''));
      const theirs = (libvirtOption(name, '-machine')[0] as string).split(',').filter((o) => o.startsWith('pcspk-audiodev='));
      assert.deepEqual(theirs, ['pcspk-audiodev=audio1']);
      assert.deepEqual((ferryOption(argv, '-machine')[0] as string).split(',').filter((o) => o.startsWith('pcspk-audiodev=')), theirs);
      assert.ok(!argv.some((a) => a.includes('pcspk,') || a.startsWith('pcspk')), 'no -device of its own');
    });
  }
});
