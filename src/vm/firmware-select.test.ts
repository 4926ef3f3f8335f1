import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { chooseFirmware, type FirmwareDescriptor } from './firmware-select.js';
import { parseDomainXml } from './parse-domain-xml.js';

/** Debian 12's ovmf package (2022.11-6+deb12u2): its three descriptors as /usr/share/qemu/firmware has them. */
const x86 = (machines: string[]): FirmwareDescriptor['targets'] => [{ architecture: 'x86_64', machines }];
const DEBIAN: FirmwareDescriptor[] = [
  {
    file: '60-edk2-x86_64.json',
    interfaceTypes: ['uefi'],
    device: 'flash',
    mode: 'split',
    executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.fd', format: 'raw' },
    nvramTemplate: { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' },
    targets: x86(['pc-i440fx-*', 'pc-q35-*']),
    features: ['acpi-s3', 'amd-sev', 'verbose-dynamic'],
  },
  {
    file: '40-edk2-x86_64-secure-enrolled.json',
    interfaceTypes: ['uefi'],
    device: 'flash',
    mode: 'split',
    executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', format: 'raw' },
    nvramTemplate: { filename: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', format: 'raw' },
    targets: x86(['pc-q35-*']),
    features: ['acpi-s3', 'amd-sev', 'enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
  },
  {
    file: '50-edk2-x86_64-secure.json',
    interfaceTypes: ['uefi'],
    device: 'flash',
    mode: 'split',
    executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', format: 'raw' },
    nvramTemplate: { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' },
    targets: x86(['pc-q35-*']),
    features: ['acpi-s3', 'amd-sev', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
  },
];

const dom = (os: string, machine = 'pc-q35-10.0', features = ''): string =>
  `<domain type='qemu'><name>uefi</name><memory>65536</memory><os ${os.replace('<TYPE/>', `<type machine='${machine}'>hvm</type>`)}</os><features><acpi/>${features}</features></domain>`;
const choose = (xml: string) => chooseFirmware(parseDomainXml(xml), DEBIAN, (format) => `/state/nvram/uefi_VARS.${format === 'qcow2' ? 'qcow2' : 'fd'}`);
const wants = (secure: 'yes' | 'no', keys?: 'yes' | 'no'): string =>
  `firmware='efi'><TYPE/><firmware>${keys ? `<feature enabled='${keys}' name='enrolled-keys'/>` : ''}<feature enabled='${secure}' name='secure-boot'/></firmware>`;

describe("chooseFirmware() (libvirt's firmware autoselection)", () => {
  it("<os firmware='efi'> alone takes the first descriptor by file name: Secure Boot with Microsoft's keys, SMM turned on", () => {
    const c = choose(dom("firmware='efi'><TYPE/>"));
    assert.deepEqual(c?.firmware, {
      auto: 'efi',
      features: [
        { name: 'enrolled-keys', enabled: true },
        { name: 'secure-boot', enabled: true },
      ],
      loader: { path: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', readonly: true, type: 'pflash', format: 'raw', secure: true },
      nvram: { template: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', templateFormat: 'raw', format: 'raw', path: '/state/nvram/uefi_VARS.fd' },
    });
    assert.equal(c?.smm, true);
  });

  it("a network NVRAM (<nvram type='network'>) gets no template and no path: it is shared storage ferry never creates", () => {
    const nbd = "<nvram type='network'><source protocol='nbd' name='vars'><host name='127.0.0.1' port='10809'/></source></nvram>";
    for (const os of [`${wants('no')}${nbd}`, `><TYPE/><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>${nbd}`]) {
      const n = choose(dom(os))?.firmware.nvram;
      assert.deepEqual(n, { format: 'raw', network: { source: { protocol: 'nbd', name: 'vars', hosts: [{ name: '127.0.0.1', port: 10809 }] } } });
    }
  });

  it('follows the <feature> list: Secure Boot without enrolled keys, or no Secure Boot at all', () => {
    assert.equal(choose(dom(wants('yes', 'no')))?.firmware.loader?.path, '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
    const plain = choose(dom(wants('no')));
    assert.equal(plain?.firmware.loader?.path, '/usr/share/OVMF/OVMF_CODE_4M.fd');
    assert.equal(plain?.firmware.loader?.secure, undefined);
    assert.equal(plain?.smm, undefined);
    assert.equal(plain?.firmware.nvram?.template, '/usr/share/OVMF/OVMF_VARS_4M.fd');
  });

  it('skips firmware that requires SMM when <smm state=off>, and q35-only firmware on i440fx', () => {
    assert.equal(choose(dom("firmware='efi'><TYPE/>", 'pc-q35-10.0', "<smm state='off'/>"))?.firmware.loader?.path, '/usr/share/OVMF/OVMF_CODE_4M.fd');
    assert.equal(choose(dom("firmware='efi'><TYPE/>", 'pc-i440fx-10.0'))?.firmware.loader?.path, '/usr/share/OVMF/OVMF_CODE_4M.fd');
  });

  it('refuses what no descriptor has, as libvirt: "Unable to find \'efi\' firmware that is compatible"', () => {
    assert.throws(
      () => choose(dom(wants('yes'), 'pc-i440fx-10.0')),
      (err: unknown) =>
        err instanceof FerryError &&
        err.code === 'FIRMWARE_NOT_FOUND' &&
        /Unable to find 'efi' firmware that is compatible/.test(err.message) &&
        /50-edk2-x86_64-secure.json: not for pc-i440fx-10.0/.test(err.message),
    );
  });

  it('a named read-only loader gets its template from the descriptor that has it, and an NVRAM path; an explicit path is kept', () => {
    const c = choose(dom("><TYPE/><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"));
    assert.deepEqual(c?.firmware.nvram, {
      template: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      templateFormat: 'raw',
      format: 'raw',
      path: '/state/nvram/uefi_VARS.fd',
    });
    const own = choose(dom("firmware='efi'><TYPE/><nvram>/srv/vm/uefi.vars</nvram>"));
    assert.equal(own?.firmware.nvram?.path, '/srv/vm/uefi.vars');
    assert.equal(choose(dom('><TYPE/>')), undefined);
  });
});
