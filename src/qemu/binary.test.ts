import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCpuHelp } from './binary.js';

describe('parseCpuHelp()', () => {
  it('reads QEMU 10.0\'s list (models indented, no arch prefix) and stops before the CPUID flags', () => {
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
