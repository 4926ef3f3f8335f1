import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../vm/parse-domain-xml.js';
import { renderDomainXml } from '../../vm/render-domain-xml.js';
import { FerryError } from '../../errors/ferry-error.js';
import { firmwareArgs } from './firmware.js';

const DIR = new URL('../../../../test/fixtures/libvirt-qemuxml/', import.meta.url);

/** The firmware parts of one of libvirt's .args files: pflash -blockdev JSON, -machine's pflash options, -bios, the pflash global. */
function libvirtFirmwareArgs(args: string): { blockdevs: string[]; machineOptions: string[]; globals: string[] } {
  const lines = args.split('\n').map((l) => l.replace(/ \\$/, ''));
  const blockdevs = lines.filter((l) => l.startsWith('-blockdev ') && l.includes('pflash')).map((l) => l.slice("-blockdev '".length, -1));
  const machine = lines.find((l) => l.startsWith('-machine ')) ?? '';
  const machineOptions = machine
    .slice('-machine '.length)
    .split(',')
    .filter((o) => o.startsWith('pflash'));
  const globals = lines.flatMap((l) =>
    l.startsWith('-bios ') ? ['-bios', l.slice(6)] : l === '-global driver=cfi.pflash01,property=secure,value=on' ? l.split(' ') : [],
  );
  return { blockdevs, machineOptions, globals };
}

describe('firmware on the QEMU command line', () => {
  const names = readdirSync(DIR)
    .filter((f) => /^firmware-.*\.x86_64-latest\.args$/.test(f))
    .map((f) => f.replace('.x86_64-latest.args', ''));

  it("builds libvirt's own arguments for each firmware domain ferry accepts (tests/qemuxmlconfdata/firmware-*)", () => {
    let compared = 0;
    for (const name of names) {
      // All of them, network NVRAM (nbd, iscsi, raw or qcow2) included.
      const def = parseDomainXml(readFileSync(new URL(`${name}.x86_64-latest.xml`, DIR), 'utf8'));
      assert.deepEqual(firmwareArgs(def), libvirtFirmwareArgs(readFileSync(new URL(`${name}.x86_64-latest.args`, DIR), 'utf8')), name);
      assert.deepEqual(parseDomainXml(renderDomainXml(def)), def, `${name}: dumpxml round trip`);
      compared++;
    }
    assert.ok(compared >= 30, `only ${compared} firmware domains compared`);
  });

  it('refuses contradictions with a coded error naming the element', () => {
    const dom = (os: string, features = ''): string =>
      `<domain type='qemu'><name>v</name><memory>65536</memory><os ${os}</os><features><acpi/>${features}</features></domain>`;
    const code = (xml: string): string | undefined => {
      try {
        parseDomainXml(xml);
        return undefined;
      } catch (err) {
        return (err as FerryError).code;
      }
    };
    const q35 = "<type machine='q35'>hvm</type>";
    const secure = "<loader readonly='yes' secure='yes' type='pflash'>/x/CODE.fd</loader>";
    assert.equal(code(dom(`>${q35}${secure}`, "<smm state='off'/>")), 'FIRMWARE_CONFLICT');
    assert.equal(code(dom(`>${"<type machine='pc'>hvm</type>"}${secure}`)), 'FIRMWARE_CONFLICT');
    assert.equal(code(dom(`firmware='efi'>${q35}<firmware><feature enabled='yes' name='secure-boot'/></firmware>`, "<smm state='off'/>")), 'FIRMWARE_CONFLICT');
    assert.equal(
      code(dom(`firmware='efi'>${q35}<firmware><feature enabled='yes' name='enrolled-keys'/><feature enabled='no' name='secure-boot'/></firmware>`)),
      'FIRMWARE_CONFLICT',
    );
    assert.equal(code(dom(`>${q35}<firmware><feature enabled='yes' name='secure-boot'/></firmware>`)), 'FIRMWARE_CONFLICT');
    // A network NVRAM: never made from a template; nbd or iscsi only; <auth> for iscsi only.
    const loader = "<loader readonly='yes' type='pflash'>/x/CODE.fd</loader>";
    const nbd = "<source protocol='nbd' name='vars'><host name='127.0.0.1' port='10809'/></source>";
    assert.equal(code(dom(`>${q35}${loader}<nvram type='network' template='/x/VARS.fd'>${nbd}</nvram>`)), 'FIRMWARE_CONFLICT');
    assert.equal(code(dom(`>${q35}${loader}<nvram type='network'><source protocol='rbd' name='p/i'><host name='h'/></source></nvram>`)), 'XML_UNSUPPORTED');
    assert.equal(
      code(
        dom(`>${q35}${loader}<nvram type='network'>${nbd.replace('</source>', "<auth username='u'><secret type='iscsi' usage='x'/></auth></source>")}</nvram>`),
      ),
      'XML_INVALID',
    );
    assert.equal(code(dom(`>${q35}${loader}<nvram type='network'/>`)), 'XML_INVALID');
    // Secure boot with SMM not written: libvirt turns SMM on.
    assert.equal(parseDomainXml(dom(`>${q35}${secure}`)).platform.smm, true);
  });
});
