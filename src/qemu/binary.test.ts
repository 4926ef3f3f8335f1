import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type QemuBinaryInfo, parseCpuHelp, resolveMachineType } from './binary.js';

describe('parseCpuHelp()', () => {
  it("reads QEMU 10.0's list (models indented, no arch prefix) and stops before the CPUID flags", () => {
    const out = [
      'Available CPUs:',
      '  486                   (alias configured by machine type)',
      '  486-v1                ',
      '  Nehalem               (alias configured by machine type)',
      '  Nehalem-IBRS          (alias of Nehalem-v2)',
      '  max                   Enables all features supported by the accelerator in the current host',
      '',
      'Recognized CPUID flags:',
      '  3dnow 3dnowext 3dnowprefetch abm ace2 ace2-en acpi adx aes amd-no-ssb',
      '',
    ].join('\n');
    assert.deepEqual(parseCpuHelp(out), ['486', '486-v1', 'Nehalem', 'Nehalem-IBRS', 'max']);
  });

  it('reads QEMU 7.2\'s list (each model line starts with "x86 ")', () => {
    const out = [
      'Available CPUs:',
      'x86 486                   (alias configured by machine type)',
      'x86 Nehalem               (alias configured by machine type)',
      'x86 max                   Enables all features supported by the accelerator in the current host',
      '',
      'Recognized CPUID flags:',
      '  3dnow 3dnowext 3dnowprefetch abm ace2',
    ].join('\n');
    assert.deepEqual(parseCpuHelp(out), ['486', 'Nehalem', 'max']);
  });
});

describe('resolveMachineType()', () => {
  const info = {
    path: '/usr/bin/qemu-system-x86_64',
    version: { major: 10, minor: 0, micro: 0 },
    package: '',
    machines: [
      { name: 'pc-i440fx-10.0', isDefault: true },
      { name: 'pc', isDefault: false, aliasOf: 'pc-i440fx-10.0' },
      { name: 'pc-q35-10.0', isDefault: false },
      { name: 'q35', isDefault: false, aliasOf: 'pc-q35-10.0' },
    ],
  } as QemuBinaryInfo;

  it('expands an alias to the versioned machine; keeps a versioned one; unknown is undefined', () => {
    assert.equal(resolveMachineType(info, 'q35'), 'pc-q35-10.0');
    assert.equal(resolveMachineType(info, 'pc-q35-10.0'), 'pc-q35-10.0');
    assert.equal(resolveMachineType(info, 'virt'), undefined);
  });

  it("none requested: QEMU's default machine (i440FX on x86), the family whose default devices the definition got", () => {
    assert.equal(resolveMachineType(info, undefined), 'pc-i440fx-10.0');
  });
});
